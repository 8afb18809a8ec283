"""Collaterals: upload a file to an item (hashed while it streams to storage), download it."""

from __future__ import annotations

import hashlib
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from services.content.domain.collaterals import ByteRange, Collateral, media_type, safe_filename
from services.content.domain.errors import InvalidInput, NotFound, UnsupportedUploadType, UploadTooLarge
from services.content.domain.items import can_read
from services.content.handlers.common import viewer_for
from services.content.handlers.ports import BlobNotFound, BlobStorage, ContentUow
from shared import clock

log = logging.getLogger("portal.content")


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str | None
    chunks: Iterable[bytes]


@dataclass(frozen=True)
class UploadPolicy:
    max_bytes: int
    allowed_types: frozenset[str]


@dataclass(frozen=True)
class DownloadPlan:
    """What the HTTP edge decided from the request's conditional and Range headers."""

    send_body: bool
    byte_range: ByteRange | None = None
    not_modified: bool = False


@dataclass(frozen=True)
class Download:
    collateral: Collateral
    plan: DownloadPlan
    body: Iterator[bytes] | None


class _Hasher:
    """Counts and hashes the bytes as the storage pulls them, and stops a file over the limit."""

    def __init__(self, chunks: Iterable[bytes], max_bytes: int) -> None:
        self.chunks = chunks
        self.max_bytes = max_bytes
        self.size = 0
        self.digest = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise UploadTooLarge(f"Files may be at most {self.max_bytes} bytes.")
            self.digest.update(chunk)
            yield chunk


def upload_collateral(uow: ContentUow, storage: BlobStorage, item_id: str, upload: Upload,
                      policy: UploadPolicy) -> Collateral:
    """Check, stream the bytes to storage with no transaction open (an upload may take minutes),
    then record the collateral. A failure after storing removes the stored file again."""
    with uow:
        if uow.items.get(item_id) is None:
            raise NotFound("No such item.")
    content_type = media_type(upload.content_type)
    if content_type not in policy.allowed_types:
        raise UnsupportedUploadType(f"Files of type {content_type or 'unknown'} are not accepted.")
    collateral_id = str(uuid.uuid4())
    hasher = _Hasher(upload.chunks, policy.max_bytes)
    storage.put(collateral_id, hasher)
    try:
        if hasher.size == 0:
            raise InvalidInput("The file is empty.", {"file": ["The file is empty."]})
        collateral = Collateral(
            id=collateral_id, item_id=item_id, filename=safe_filename(upload.filename),
            content_type=content_type, size=hasher.size, sha256=hasher.digest.hexdigest(),
            storage_key=collateral_id, created_by=uow.context.actor, created_at=clock.now())
        with uow:
            if uow.items.get(item_id) is None:  # deleted while the bytes were streaming
                raise NotFound("No such item.")
            uow.collaterals.add(collateral)
            uow.emit("content.collateral.uploaded", subject=f"collateral:{collateral.id}", payload={
                "collateral_id": collateral.id, "item_id": item_id, "filename": collateral.filename,
                "content_type": content_type, "size": collateral.size, "sha256": collateral.sha256})
            uow.commit()
    except BaseException:
        storage.delete(collateral_id)
        raise
    return collateral


def download_collateral(uow: ContentUow, storage: BlobStorage, collateral_id: str,
                        negotiate: Callable[[Collateral], DownloadPlan]) -> Download:
    """Open the file for a reader of its item; a download that sends bytes is recorded as
    ``content.collateral.downloaded`` before the first byte leaves."""
    with uow:
        collateral = uow.collaterals.get(collateral_id)
        item = uow.items.get(collateral.item_id) if collateral else None
        if collateral is None or item is None or not can_read(item, viewer_for(uow)):
            raise NotFound("No such file.")
        plan = negotiate(collateral)
        body = None
        if plan.send_body:
            rng = plan.byte_range
            try:
                body = storage.read(collateral.storage_key, rng.start if rng else 0, rng.length if rng else None)
            except BlobNotFound:
                log.error("collateral %s: stored file %s is missing", collateral.id, collateral.storage_key)
                raise NotFound("The file is no longer available.") from None
            uow.emit("content.collateral.downloaded", subject=f"collateral:{collateral.id}", payload={
                "collateral_id": collateral.id, "item_id": collateral.item_id, "size": collateral.size,
                "bytes_sent": rng.length if rng else collateral.size,
                "range": f"bytes {rng.start}-{rng.end}/{collateral.size}" if rng else None})
        uow.commit()
    return Download(collateral, plan, body)


def remove_collateral(uow: ContentUow, storage: BlobStorage, collateral_id: str) -> None:
    """An editor takes a file off its item. The row and ``content.collateral.removed`` commit together;
    the stored bytes go after the commit, and should that fail, ``sweep_files`` removes them later (no row
    points at them any more), so a reader can never reach a row whose file is half gone."""
    with uow:
        collateral = uow.collaterals.get(collateral_id)
        if collateral is None:
            raise NotFound("No such file.")
        uow.collaterals.remove(collateral.id)
        uow.emit("content.collateral.removed", subject=f"collateral:{collateral.id}", payload={
            "collateral_id": collateral.id, "item_id": collateral.item_id, "filename": collateral.filename})
        uow.commit()
    try:
        storage.delete(collateral.storage_key)
    except OSError:
        log.warning("collateral %s: stored file %s not deleted; the sweep will", collateral.id,
                    collateral.storage_key)


def sweep_files(uow: ContentUow, storage: BlobStorage, older_than: timedelta,
                batch: int = 500) -> dict[str, int]:
    """Delete stored files no collateral points at, and unfinished uploads, older than ``older_than``.

    An upload stores its bytes before it records the collateral, so a process that dies in between (or
    an upload killed mid-stream) leaves a file nobody can reach. Anything younger than ``older_than``
    may be an upload still in progress and is left alone."""
    moment = (clock.now() - older_than).timestamp()
    deleted = 0
    keys = storage.keys_older_than(moment)
    while chunk := list(itertools.islice(keys, batch)):
        with uow:
            known = uow.collaterals.known_keys(chunk)
        for key in chunk:
            if key not in known:
                storage.delete(key)
                deleted += 1
    return {"orphan_files": deleted, "partial_uploads": storage.drop_partial_older_than(moment)}

