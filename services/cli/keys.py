"""Which process gets which key. Key files ``portal run`` generates once under ``var/secrets/`` (0700
directory, 0600 files), beside ``var/secrets.env``: the audit writer's Ed25519 signing key and its public key.
Values or files given in the environment win.

Event keys: one HMAC key per (producer, consumer) pair (``shared/events/signing.py``). A process gets the
pairs it signs with (its service as producer, towards every consumer) and, for a worker, the pairs it
verifies (every producer towards its service); never ``PORTAL_EVENT_MASTER_KEY``. So a compromised content
process cannot sign as identity towards audit: it holds no identity key at all."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from shared.bus.topology import QUEUE_BINDINGS
from shared.events.signing import MASTER_ENV, PRODUCERS, derive_pair_key, pair_env

SIGNING_KEY_FILE = "PORTAL_AUDIT_SIGNING_KEY_FILE"
PUBLIC_KEY_FILE = "PORTAL_AUDIT_PUBLIC_KEY_FILE"
# Only the processes that sign get the private key: the audit worker (checkpoints, heads) and the
# scheduler (its `portal audit retain` signs the retention record).
SIGNERS = ("audit-worker", "scheduler")
WRITER_ONLY = (SIGNING_KEY_FILE,)
# audit's own secrets (its index key, under its older name, and the wrap key of the per-person keys): for
# audit's processes and the platform processes that open audit's store (relay, scheduler), no one else.
AUDIT_SECRETS = ("PORTAL_AUDIT_SIGNING_KEY", "PORTAL_AUDIT_INDEX_KEY", "PORTAL_AUDIT_KEY_WRAP_KEY")
AUDIT_PROCESSES = ("audit-web", "audit-worker", "scheduler", "relay")


EVENT_CONSUMERS = tuple(QUEUE_BINDINGS)
EVENT_KEY_NAMES = tuple(pair_env(p, c) for p in PRODUCERS for c in EVENT_CONSUMERS)
# The scheduler's duties run as `portal` commands of these services, and some of them emit events.
SCHEDULED_PRODUCERS = ("identity", "content", "audit")


def event_keys_from_master(env: Mapping[str, str]) -> dict[str, str]:
    """Pair keys derived from a master key given in the environment (the tests' platforms, or a secrets file
    written before per-pair keys): what was signed with the master still verifies. Empty without one."""
    master = env.get(MASTER_ENV)
    if not master:
        return {}
    return {pair_env(p, c): derive_pair_key(master, p, c) for p in PRODUCERS for c in EVENT_CONSUMERS}


def event_keys_for(process: str) -> set[str]:
    """The pair keys a process of ``portal run`` (or a container) holds: ``<svc>-web`` signs as its service,
    ``<svc>-worker`` signs as its service and verifies what every producer sends it, the gateway signs its
    access events, the scheduler signs as the services whose duties it runs; the relay, which publishes rows
    already signed, and the pages hold none."""
    service, _, role = process.rpartition("-")
    signs: tuple[str, ...]
    verifies: tuple[str, ...]
    if process == "gateway":
        signs, verifies = ("gateway",), ()
    elif process == "scheduler":
        signs, verifies = SCHEDULED_PRODUCERS, ()
    elif role == "web" and service in PRODUCERS:
        signs, verifies = (service,), ()
    elif role == "worker" and service in PRODUCERS:
        signs, verifies = (service,), ((service,) if service in EVENT_CONSUMERS else ())
    else:
        return set()
    return ({pair_env(p, c) for p in signs for c in EVENT_CONSUMERS}
            | {pair_env(p, c) for p in PRODUCERS for c in verifies})


def ensure_audit_keys(var_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The key files' paths for the children, generating the pair on first run."""
    if env.get(SIGNING_KEY_FILE):
        return {SIGNING_KEY_FILE: env[SIGNING_KEY_FILE], **({PUBLIC_KEY_FILE: env[PUBLIC_KEY_FILE]}
                                                           if env.get(PUBLIC_KEY_FILE) else {})}
    folder = var_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    private, public = folder / "audit-signing.pem", var_dir / "audit-signing.pub"
    if not (private.exists() and public.exists()):
        _make_key_pair(private, public)
    os.chmod(private, 0o600)
    return {SIGNING_KEY_FILE: str(private), PUBLIC_KEY_FILE: env.get(PUBLIC_KEY_FILE) or str(public)}


def _make_key_pair(private: Path, public: Path) -> None:
    """The missing file(s) of the pair. Imported here: `portal run` started with its keys in place stays
    without cryptography (about 6 MiB) for the whole run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not private.exists():
        key = Ed25519PrivateKey.generate()
        _write(private, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()), 0o600)
    if not public.exists():
        loaded = serialization.load_pem_private_key(private.read_bytes(), password=None)
        _write(public, loaded.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)


def env_for(child: str, env: Mapping[str, str]) -> dict[str, str]:
    """A child's environment: the signing key only for the processes that sign, audit's secrets only for
    the processes that open audit's store, the event pair keys it signs or verifies with, never the master."""
    withheld = {*(() if child in SIGNERS else WRITER_ONLY), *(() if child in AUDIT_PROCESSES else AUDIT_SECRETS),
                MASTER_ENV, *(set(EVENT_KEY_NAMES) - event_keys_for(child))}
    return {k: v for k, v in env.items() if k not in withheld}


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
