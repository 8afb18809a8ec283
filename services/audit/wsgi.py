"""gunicorn 'services.audit.wsgi:app'."""
from services.audit.app import create_app

app = create_app()
