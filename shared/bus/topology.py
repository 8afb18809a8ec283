"""Who consumes what: one durable queue per consuming service, bound to the ``events`` topic exchange.

Declared by every publisher before it publishes (a topic exchange drops messages for which no queue
is bound yet) and by every worker. Audit is bound to everything: it is the server log store.
Retries and replays go to a queue directly through the ``events.retry`` direct exchange, so they
never fan out to the other services again.
"""

from __future__ import annotations

from kombu import Exchange, Queue, binding

EVENTS_EXCHANGE = Exchange("events", type="topic", durable=True)
RETRY_EXCHANGE = Exchange("events.retry", type="direct", durable=True)
DELIVER_TASK = "portal.events.deliver"

# Routing patterns per consuming service ("*" one word, "#" any number of words).
QUEUE_BINDINGS: dict[str, tuple[str, ...]] = {
    "audit": ("#",),
    # identity.mail.queued: identity's own worker sends the mails a committed use case queued;
    # identity.privacy.export_requested: its worker pulls every service's export section;
    # link decisions and complaint steps: identity mails the person concerned (docs/privacy.md)
    "identity": ("linking.privacy.*", "content.privacy.*", "audit.privacy.*", "identity.mail.queued",
                 "identity.privacy.export_requested", "linking.link.approved", "linking.link.rejected",
                 "content.complaint.*"),
    "linking": ("identity.user.*", "identity.privacy.*"),
    "content": ("linking.member.*", "linking.company.*", "identity.user.*", "identity.privacy.*"),
}


def queue_name(service: str) -> str:
    return f"events.{service}"


def queue_for(service: str) -> Queue:
    patterns = QUEUE_BINDINGS[service]
    bindings = [binding(EVENTS_EXCHANGE, routing_key=p) for p in patterns]
    bindings.append(binding(RETRY_EXCHANGE, routing_key=queue_name(service)))
    return Queue(queue_name(service), bindings=bindings, durable=True)


def all_queues() -> list[Queue]:
    return [queue_for(s) for s in QUEUE_BINDINGS]


def declare_all(connection) -> None:
    """Declare every queue and binding (idempotent)."""
    channel = connection.default_channel
    for queue in all_queues():
        queue(channel).declare()
