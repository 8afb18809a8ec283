"""The static assets' version: a digest of their bytes, so each deployment's URLs are new and a
browser may keep every file for a year (``Cache-Control: immutable``)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def version_of(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
