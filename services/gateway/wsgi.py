"""gunicorn -c python:services.gateway.gunicorn_conf 'services.gateway.wsgi:app'."""
from services.gateway.app import create_app

app = create_app()
