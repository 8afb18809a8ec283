"""celery -A services.audit.worker worker -Q events.audit."""
from services.audit.bootstrap import bootstrap
from services.audit.consumers import create_worker

app = create_worker(bootstrap())
