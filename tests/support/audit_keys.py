"""audit's keys for a test's own folder, as ``portal run`` makes them: the writer's key files, the anchor
location, and the index and wrap keys (each a secret of its own)."""

from __future__ import annotations

import secrets
from pathlib import Path

from services.cli.keys import ensure_audit_keys


def audit_keys_env(folder: Path) -> dict[str, str]:
    env = ensure_audit_keys(folder, {})
    env["PORTAL_AUDIT_ANCHOR_PATH"] = str(folder / "audit-anchor" / "heads.jsonl")
    env["PORTAL_AUDIT_SIGNING_KEY"] = secrets.token_hex(32)
    env["PORTAL_AUDIT_KEY_WRAP_KEY"] = secrets.token_hex(32)
    return env
