"""celery -A services.content.worker worker -Q events.content."""
from services.content.bootstrap import bootstrap
from services.content.consumers import create_worker

app = create_worker(bootstrap())
