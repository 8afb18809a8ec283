"""celery -A services.identity.worker worker -Q events.identity."""
from services.identity.bootstrap import bootstrap
from services.identity.consumers import create_worker

app = create_worker(bootstrap())
