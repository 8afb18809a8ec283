"""gunicorn 'services.web.wsgi:app'."""
from services.web.app import create_app

app = create_app()
