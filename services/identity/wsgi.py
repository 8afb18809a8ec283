"""gunicorn 'services.identity.wsgi:app'."""
from services.identity.app import create_app

app = create_app()
