"""Collateral files: editors upload to an item, its readers download."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from services.content.api.deps import container, requires, uow
from services.content.api.downloads import file_response, negotiate
from services.content.api.multipart import MAX_PART_HEADERS, open_file_part
from services.content.api.schemas import CollateralSchema
from services.content.domain.viewer import EDITOR
from services.content.handlers import collaterals
from shared.web.app import accepts

blp = Blueprint("collaterals", __name__, description="Collateral files")


@blp.post("/items/<item_id>/collaterals")
@accepts("multipart/form-data")
@requires(EDITOR)
@blp.response(201, CollateralSchema)
def upload_collateral(item_id: str):
    """Multipart form field ``file``; at most CONTENT_MAX_UPLOAD_BYTES, of an allowed type."""
    settings = container().settings
    # Only this view takes large bodies; every JSON view keeps the common, small limit.
    request.max_content_length = settings.max_upload_bytes + MAX_PART_HEADERS
    upload = open_file_part(request.stream, request.headers.get("Content-Type"))
    policy = collaterals.UploadPolicy(settings.max_upload_bytes, settings.allowed_upload_types)
    return collaterals.upload_collateral(uow(), container().storage, item_id, upload, policy)


@blp.get("/collaterals/<collateral_id>/download")
def download_collateral(collateral_id: str):
    """The file as a stream, with ``Content-Disposition: attachment``, ETag and single byte ranges."""
    found = collaterals.download_collateral(uow(), container().storage, collateral_id, negotiate)
    return file_response(found)


@blp.delete("/collaterals/<collateral_id>")
@requires(EDITOR)
@blp.response(204)
def remove_collateral(collateral_id: str):
    """Take the file off its item (the row, then the stored bytes)."""
    collaterals.remove_collateral(uow(), container().storage, collateral_id)
