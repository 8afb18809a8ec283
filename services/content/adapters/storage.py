"""Where collateral bytes live: the local-disk adapter of the ``BlobStorage`` port (``handlers/ports.py``).

The port takes and gives iterators of chunks, so an object store (S3 multipart upload, ranged GET)
fits behind it without the service ever holding a whole file in memory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from services.content.handlers.ports import BlobNotFound, BlobStorage

__all__ = ["BlobNotFound", "BlobStorage", "LocalDiskStorage"]

CHUNK = 64 * 1024


class LocalDiskStorage:
    """Files under ``root/<2 hex>/<key>``, written to ``root/tmp`` first and renamed into place."""

    def __init__(self, root: Path, chunk_size: int = CHUNK) -> None:
        self.root = root
        self.chunk_size = chunk_size

    def _path(self, key: str) -> Path:
        if not key or any(c not in "0123456789abcdef-" for c in key):
            raise ValueError("storage keys are lowercase hex/uuid strings")
        return self.root / key[:2] / key

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        final = self._path(key)
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{key}.{uuid.uuid4().hex}.part"
        try:
            with open(tmp, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())  # the row that points at the file commits only after this
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the generator below
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        return self._stream(fh, start, length)

    def _stream(self, fh, start: int, length: int | None) -> Iterator[bytes]:
        with fh:
            fh.seek(start)
            remaining = length
            while remaining is None or remaining > 0:
                want = self.chunk_size if remaining is None else min(self.chunk_size, remaining)
                data = fh.read(want)
                if not data:
                    return
                if remaining is not None:
                    remaining -= len(data)
                yield data

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys_older_than(self, moment: float) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if shard.name == "tmp" or not shard.is_dir():
                continue
            for path in sorted(shard.iterdir()):
                try:
                    if path.is_file() and path.stat().st_mtime < moment:
                        yield path.name
                except FileNotFoundError:  # deleted meanwhile
                    continue

    def drop_partial_older_than(self, moment: float) -> int:
        dropped = 0
        for path in (self.root / "tmp").glob("*.part"):
            try:
                if path.stat().st_mtime < moment:
                    path.unlink()
                    dropped += 1
            except FileNotFoundError:
                continue
        return dropped
