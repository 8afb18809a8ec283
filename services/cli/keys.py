"""Key files ``portal run`` generates once under ``var/secrets/`` (0700 directory, 0600 files), beside
``var/secrets.env``: the audit writer's Ed25519 signing key and its public key. Values or files given in
the environment win."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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


def ensure_audit_keys(var_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The key files' paths for the children, generating the pair on first run."""
    if env.get(SIGNING_KEY_FILE):
        return {SIGNING_KEY_FILE: env[SIGNING_KEY_FILE], **({PUBLIC_KEY_FILE: env[PUBLIC_KEY_FILE]}
                                                           if env.get(PUBLIC_KEY_FILE) else {})}
    folder = var_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    private, public = folder / "audit-signing.pem", var_dir / "audit-signing.pub"
    if not private.exists():
        key = Ed25519PrivateKey.generate()
        _write(private, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()), 0o600)
    if not public.exists():
        loaded = serialization.load_pem_private_key(private.read_bytes(), password=None)
        _write(public, loaded.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)
    os.chmod(private, 0o600)
    return {SIGNING_KEY_FILE: str(private), PUBLIC_KEY_FILE: env.get(PUBLIC_KEY_FILE) or str(public)}


def env_for(child: str, env: Mapping[str, str]) -> dict[str, str]:
    """A child's environment: the signing key only for the processes that sign, audit's secrets only for
    the processes that open audit's store."""
    withheld = (() if child in SIGNERS else WRITER_ONLY) + (() if child in AUDIT_PROCESSES else AUDIT_SECRETS)
    return {k: v for k, v in env.items() if k not in withheld}


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
