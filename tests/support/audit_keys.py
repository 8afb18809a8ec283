"""The audit writer's key files and anchor location for a test's own folder, as ``portal run`` makes them."""

from __future__ import annotations

from pathlib import Path

from services.cli.keys import ensure_audit_keys


def audit_keys_env(folder: Path) -> dict[str, str]:
    env = ensure_audit_keys(folder, {})
    env["PORTAL_AUDIT_ANCHOR_PATH"] = str(folder / "audit-anchor" / "heads.jsonl")
    return env
