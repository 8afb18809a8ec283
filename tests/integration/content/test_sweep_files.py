"""``portal content sweep-files``: stored files that no collateral points at (an upload whose process died
between storing the bytes and recording the row) and unfinished uploads go once they are old enough;
recorded files and anything recent stay."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest
from click.testing import CliRunner

from services.content.cli import content as content_command
from tests.integration.content.conftest import Content

pytestmark = pytest.mark.integration
DAY = 86_400


def backdate(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_sweep_removes_old_orphans_and_partial_uploads_only(content: Content, database_url, redis_url,
                                                            internal_secret, tmp_path, monkeypatch):
    storage = content.container.storage
    item = content.item()
    kept = content.attach(item["id"], data=b"%PDF-1.7 kept brochure")
    orphan_old, orphan_new = str(uuid.uuid4()), str(uuid.uuid4())
    storage.put(orphan_old, [b"bytes nobody recorded"])
    storage.put(orphan_new, [b"an upload still being recorded"])
    root = content.container.settings.storage_dir
    backdate(root / orphan_old[:2] / orphan_old, 2 * DAY)
    backdate(root / kept["id"][:2] / kept["id"], 2 * DAY)
    (root / "tmp").mkdir(exist_ok=True)
    stale_part, fresh_part = root / "tmp" / "abc.1.part", root / "tmp" / "abc.2.part"
    stale_part.write_bytes(b"half")
    fresh_part.write_bytes(b"half, still writing")
    backdate(stale_part, 2 * DAY)

    for name, value in {"CONTENT_DATABASE_URL": database_url, "REDIS_URL": redis_url,
                        "PORTAL_INTERNAL_SECRET": internal_secret, "PORTAL_VAR_DIR": str(tmp_path / "var"),
                        "CONTENT_STORAGE_DIR": str(root)}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(content_command, ["sweep-files"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"orphan_files": 1, "partial_uploads": 1}
    assert not storage.exists(orphan_old) and storage.exists(orphan_new) and storage.exists(kept["id"])
    assert not stale_part.exists() and fresh_part.exists()
    download = content.call("GET", f"/collaterals/{kept['id']}/download", "anonymous")
    assert download.status_code == 200 and download.data == b"%PDF-1.7 kept brochure"

    again = CliRunner().invoke(content_command, ["sweep-files"])
    assert json.loads(again.output) == {"orphan_files": 0, "partial_uploads": 0}
    strict = CliRunner().invoke(content_command, ["sweep-files", "--older-than-hours", "0"])
    assert strict.exit_code == 2  # at least an hour: younger files may be uploads in progress
