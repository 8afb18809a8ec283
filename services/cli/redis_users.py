"""The Redis users of ``portal run``'s embedded Redis (and of compose's, deploy/redis/users.sh): who
connects as whom, with which rules, and the URL a child connects with."""

from __future__ import annotations

from collections.abc import Mapping

LOCAL = "127.0.0.1"

# The embedded Redis's ACL users: one per service and platform process, each with a password of its own
# (PORTAL_REDIS_PASSWORD_<USER> in var/secrets.env) and no administration commands (-@dangerous: FLUSHALL,
# CONFIG, DEBUG, KEYS, SHUTDOWN, ACL ...; INFO stays, the relay reads the broker's run id). The default user
# is off. The gateway and the pages reach only their own keys; the services, the relay and the scheduler
# need the broker's queues. `portal` is the supervisor's and the operator's commands' user; `admin`, given
# to no process, is for the operator's redis-cli (BGREWRITEAOF before a backup). identity's user may also
# run BGREWRITEAOF: once an erasure completes, the append-only file must stop holding the person's events
# (docs/privacy.md, "The copies outside the tables").
SERVICE_REDIS_RULES = "~* &* +@all -@dangerous +info"
REDIS_USERS = {
    "identity": SERVICE_REDIS_RULES + " +bgrewriteaof",
    **{s: SERVICE_REDIS_RULES for s in ("linking", "content", "audit", "relay", "scheduler", "portal")},
    "gateway": "~portal:rl:* ~portal:sessions:* resetchannels +@all -@dangerous",  # rate limits, session epoch
    "web": "~portal:nonce:* resetchannels +@all -@dangerous",  # the pages claim their calls' nonces only
    "admin": "~* &* +@all",
}
CLI_REDIS_USER = "portal"


def redis_password_env(user: str) -> str:
    return f"PORTAL_REDIS_PASSWORD_{user.upper()}"


def redis_user(process: str) -> str:
    """The Redis user a child connects as: its service's (``identity-web`` and ``identity-worker``: identity),
    or its own (gateway, relay, scheduler)."""
    service = process.rsplit("-", 1)[0] if process.endswith(("-web", "-worker")) else process
    return service if service in REDIS_USERS and service != "admin" else CLI_REDIS_USER


REDIS_PASSWORDS = tuple(redis_password_env(u) for u in REDIS_USERS)


def redis_acl(passwords: Mapping[str, str]) -> str:
    """The embedded Redis's users (``REDIS_USERS``), as redis.conf lines; the default user is off."""
    lines = ["user default off resetpass resetkeys resetchannels -@all"]
    lines += [f"user {user} on >{passwords[redis_password_env(user)]} {rules}" for user, rules in REDIS_USERS.items()]
    return "\n".join(lines) + "\n"


def embedded_redis_url(user: str, passwords: Mapping[str, str], port: int) -> str:
    return f"redis://{user}:{passwords[redis_password_env(user)]}@{LOCAL}:{port}/0"
