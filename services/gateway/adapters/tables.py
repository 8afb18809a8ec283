"""gateway's tables: its spool (a local SQLite file by default) holds only the infrastructure tables.

The ``outbox`` table is the durable access-log spool that ``portal relay gateway`` publishes from.
"""

from sqlalchemy import MetaData

from shared.inbox import dead_letters_table, processed_events_table
from shared.outbox import outbox_table

metadata = MetaData()
outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
dead_letters = dead_letters_table(metadata)
