"""celery -A services.linking.worker worker -Q events.linking."""
from services.linking.bootstrap import bootstrap
from services.linking.consumers import create_worker

app = create_worker(bootstrap())
