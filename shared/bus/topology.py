"""Who consumes what: one durable queue per consuming service, bound to the ``events`` topic exchange.

Declared by every publisher before it publishes (a topic exchange drops messages for which no queue
is bound yet) and by every worker. Audit is bound to everything: it is the server log store.
Retries and replays go to a queue directly through the ``events.retry`` direct exchange, so they
never fan out to the other services again.
"""

from __future__ import annotations

from kombu import Exchange, Queue, binding

from shared.events.privacy import PARTICIPANTS

EVENTS_EXCHANGE = Exchange("events", type="topic", durable=True)
RETRY_EXCHANGE = Exchange("events.retry", type="direct", durable=True)
DELIVER_TASK = "portal.events.deliver"

# Routing patterns per consuming service ("*" one word, "#" any number of words).
# The privacy protocol's part (shared/events/privacy.py) is added below for every participant:
# it hears identity's requests, identity hears its answers.
_OWN_BINDINGS: dict[str, tuple[str, ...]] = {
    "audit": ("#",),
    # identity.mail.queued: identity's own worker sends the mails a committed use case queued;
    # identity.privacy.export_requested: its worker pulls every service's export section;
    # link decisions and complaint steps: identity mails the person concerned (docs/privacy.md)
    "identity": ("identity.mail.queued", "identity.privacy.export_requested", "linking.link.approved",
                 "linking.link.rejected", "content.complaint.*"),
    "linking": ("identity.user.*",),
    "content": ("linking.member.*", "linking.company.*", "identity.user.*"),
}


def _with_privacy(own: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    out = dict(own)
    out["identity"] = tuple(f"{p}.privacy.*" for p in PARTICIPANTS) + out["identity"]
    for participant in PARTICIPANTS:
        bound = out.get(participant, ())
        out[participant] = bound if "#" in bound else bound + ("identity.privacy.*",)
    return out


QUEUE_BINDINGS: dict[str, tuple[str, ...]] = _with_privacy(_OWN_BINDINGS)


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
    declare_on(connection.default_channel)


def declare_on(channel) -> None:
    """Declare every exchange, queue and binding on ``channel`` (idempotent)."""
    for queue in all_queues():
        queue(channel).declare()
