"""Exports (the right of access): identity assembles one bundle with a section per service.

A request is stored with a pending section per service (identity's own included) and announced with
``identity.privacy.export_requested``; identity's worker then pulls each section
(``collect_export``), keeping every section that answered and retrying the others. The owner polls the
status and, once every section is in, downloads the bundle through a short-lived signed link.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from services.identity.config import Settings
from services.identity.domain import errors
from services.identity.domain.privacy import (
    COMPLETED,
    EXPIRED,
    EXPORT_DUE,
    IDENTITY,
    PENDING,
    PrivacyExport,
    download_link_valid,
    download_signature,
)
from services.identity.handlers.ports import ExportSource, IdentityUow, SectionUnavailable
from services.identity.handlers.reauth import check_recent_auth
from shared import clock

log = logging.getLogger("portal.identity.privacy")


def request_export(uow: IdentityUow, settings: Settings, user_id: str, session_id: str | None) -> PrivacyExport:
    """Ask for everything held about me (needs a recent re-authentication: it hands over all of it). While
    one request is still being assembled, asking again returns it instead of starting another."""
    with uow:
        user = uow.users.get(user_id)
        if user is None or user.erased_at is not None:
            raise errors.NotFound("No such account.")
        check_recent_auth(uow, settings, user_id=user_id, session_id=session_id)
        running = uow.privacy.pending_export_of(user_id)
        if running is not None:
            return running
        now = clock.now()
        export = PrivacyExport(id=str(uuid.uuid4()), user_id=user_id, status=PENDING, requested_at=now,
                               due_at=now + EXPORT_DUE)
        uow.privacy.add_export(export, [IDENTITY, *settings.privacy_services])
        uow.emit("identity.privacy.export_requested", subject=user_id, payload={
            "request_id": export.id, "user_id": user_id, "due_at": clock.isoformat(export.due_at)})
        uow.commit()
    return export


def collect_export(uow: IdentityUow, sources: Mapping[str, ExportSource], export_id: str) -> list[str]:
    """Fetch every section still pending, storing each one that answers in its own transaction (so a
    later failure never loses it); complete the export when none is left. Returns the services still
    pending. Safe to run again, and concurrently: only pending sections are fetched and stored."""
    with uow:
        export = uow.privacy.export(export_id)
        if export is None or export.status != PENDING:
            return []
        pending = [s.service for s in uow.privacy.sections(export_id) if s.status == PENDING]
    missing: list[str] = []
    for service in pending:
        try:
            data = _own_section(uow, export.user_id) if service == IDENTITY else _fetch(sources, service, export)
        except SectionUnavailable as exc:
            log.warning("export %s: %s section still pending: %s", export_id, service, exc)
            with uow:
                uow.privacy.section_failed(export_id, service, str(exc))
                uow.commit()
            missing.append(service)
            continue
        with uow:
            uow.privacy.complete_section(export_id, service, data, clock.now())
            uow.commit()
    if not missing:
        with uow:
            if uow.privacy.complete_export(export_id, clock.now()):
                sections = [s.service for s in uow.privacy.sections(export_id)]
                uow.emit("identity.privacy.export_completed", subject=export.user_id, actor="system:identity",
                         payload={"request_id": export_id, "user_id": export.user_id, "sections": sections})
            uow.commit()
    return missing


def _own_section(uow: IdentityUow, user_id: str) -> dict[str, Any]:
    with uow:
        return uow.personal_data.export(user_id)


def _fetch(sources: Mapping[str, ExportSource], service: str, export: PrivacyExport) -> dict[str, Any]:
    source = sources.get(service)
    if source is None:
        raise SectionUnavailable(f"no address configured for {service}")
    return source.fetch(export.user_id, request_id=f"privacy-export-{export.id}")


def retry_pending_exports(uow: IdentityUow, sources: Mapping[str, ExportSource]) -> dict[str, list[str]]:
    """Collect every export still pending (``portal privacy retry-exports``): ``{export id: still missing}``."""
    with uow:
        ids = [e.id for e in uow.privacy.pending_exports()]
    return {export_id: collect_export(uow, sources, export_id) for export_id in ids}


def list_exports(uow: IdentityUow, settings: Settings, *, user_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The owner's latest exports, newest first, each as ``export_status`` shows it."""
    with uow:
        ids = [e.id for e in reversed(uow.privacy.exports_of(user_id))][:limit]
    return [export_status(uow, settings, export_id=export_id, user_id=user_id) for export_id in ids]


def export_status(uow: IdentityUow, settings: Settings, *, export_id: str, user_id: str) -> dict[str, Any]:
    """The owner's view: every section's status, and a fresh download link once all are in."""
    with uow:
        export = _owned(uow, export_id, user_id)
        sections = uow.privacy.sections(export_id)
    now = clock.now()
    keep = timedelta(seconds=settings.export_keep_seconds)
    status = export.view_status(now, keep)
    view: dict[str, Any] = {
        "id": export.id, "status": status, "requested_at": export.requested_at, "due_at": export.due_at,
        "completed_at": export.completed_at, "available_until": export.available_until(keep),
        "sections": {s.service: {"status": s.status, "received_at": s.received_at} for s in sections},
    }
    if status == COMPLETED:
        expires = int(now.timestamp()) + settings.export_link_seconds
        signature = download_signature(settings.common.internal_secret, export.id, user_id, expires)
        view["download_url"] = (f"{settings.public_url}/api/identity/privacy/exports/{export.id}/download"
                                f"?expires={expires}&signature={signature}")
        view["download_expires_at"] = datetime.fromtimestamp(expires, UTC)
    return view


def _owned(uow: IdentityUow, export_id: str, user_id: str) -> PrivacyExport:
    export = uow.privacy.export(export_id)
    if export is None or export.user_id != user_id:  # someone else's: as if it did not exist
        raise errors.ExportNotFound("No such export.")
    return export


def download_export(uow: IdentityUow, settings: Settings, *, export_id: str, user_id: str, expires: int,
                    signature: str) -> dict[str, Any]:
    """The bundle, for the owner's session holding an unexpired link signed for them."""
    with uow:
        export = _owned(uow, export_id, user_id)
        now = clock.now()
        ok, fresh = download_link_valid(settings.common.internal_secret, export_id, user_id, expires, signature, now)
        if not ok:
            raise errors.DownloadLinkInvalid("This download link is not valid for you.")
        if not fresh:
            raise errors.DownloadLinkExpired("This download link has expired; open the export again for a new one.")
        status = export.view_status(now, timedelta(seconds=settings.export_keep_seconds))
        if status == EXPIRED:
            raise errors.ExportExpired("This export is no longer kept; ask for a new one.")
        if status != COMPLETED:
            raise errors.ExportNotReady("This export is still being assembled.")
        sections = uow.privacy.sections(export_id, with_data=True)
        uow.emit("identity.privacy.export_downloaded", subject=user_id,
                 payload={"request_id": export_id, "user_id": user_id})
        uow.commit()
    return {"export_id": export.id, "user_id": user_id, "requested_at": clock.isoformat(export.requested_at),
            "completed_at": clock.isoformat(export.completed_at or now),
            "sections": {s.service: s.data for s in sections}}


def purge_expired_exports(uow: IdentityUow, settings: Settings) -> int:
    """Delete the data of exports past their keeping time (``portal privacy purge-exports``)."""
    keep = timedelta(seconds=settings.export_keep_seconds)
    now = clock.now()
    purged = 0
    with uow:
        for export in uow.privacy.completed_unpurged():
            until = export.available_until(keep)
            if until is not None and now >= until:
                uow.privacy.purge_export(export.id, now)
                purged += 1
        uow.commit()
    return purged
