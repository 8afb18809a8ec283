"""Privacy requests: my data export, my erasure, and legal holds (compliance)."""

from __future__ import annotations

import json

from flask import Response, request
from flask_smorest import Blueprint

from services.identity.api import privacy_schemas as schemas
from services.identity.api.deps import container, read_uow, uow
from services.identity.handlers import privacy_erasures as erasures
from services.identity.handlers import privacy_exports as exports
from shared.web.identity import current_identity, require_role, require_user

blp = Blueprint("privacy", __name__, description="Privacy requests: export, erasure, legal holds")

# Who may call, checked before any input is read (401/403 come before 400/422).
_OPEN = {"privacy.erasure_status"}  # the erased owner can no longer log in; see erasure_status
_COMPLIANCE = {"privacy.place_hold", "privacy.release_hold", "privacy.list_holds"}


@blp.before_request
def _authorize() -> None:
    if request.endpoint in _OPEN:
        return
    if request.endpoint in _COMPLIANCE:
        require_role("compliance")
    else:
        require_user()


@blp.post("/privacy/exports")
@blp.arguments(schemas.EmptyIn)
@blp.response(202, schemas.ExportOut)
def request_export(_body):
    c, ident = container(), require_user()
    export = exports.request_export(uow(), c.settings, ident.user_id or "", ident.session_id)
    return exports.export_status(read_uow(), c.settings, export_id=export.id, user_id=export.user_id)


@blp.get("/privacy/exports")
@blp.response(200, schemas.ExportListOut)
def list_exports():
    ident = require_user()
    return {"items": exports.list_exports(read_uow(), container().settings, user_id=ident.user_id or "")}


@blp.get("/privacy/exports/<string:export_id>")
@blp.response(200, schemas.ExportOut)
def export_status(export_id):
    ident = require_user()
    return exports.export_status(read_uow(), container().settings, export_id=export_id, user_id=ident.user_id or "")


@blp.get("/privacy/exports/<string:export_id>/download")
@blp.arguments(schemas.DownloadArgs, location="query")
@blp.response(200)
def download_export(args, export_id):
    ident = require_user()
    bundle = exports.download_export(uow(), container().settings, export_id=export_id,
                                     user_id=ident.user_id or "", **args)
    return Response(json.dumps(bundle, indent=2), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="portal-export-{export_id}.json"'})


@blp.post("/privacy/erasures")
@blp.arguments(schemas.EmptyIn)
@blp.response(202, schemas.ErasureOut)
def request_erasure(_body):
    c, ident = container(), require_user()
    erasure = erasures.request_erasure(uow(), c.counters, c.settings, c.ledger_file, user_id=ident.user_id or "",
                                       session_id=ident.session_id, mailer=c.mailer)
    return erasures.erasure_status(read_uow(), request_id=erasure.id, viewer=ident,
                                   services=c.settings.privacy_services)


@blp.get("/privacy/erasures/<string:request_id>")
@blp.response(200, schemas.ErasureOut)
def erasure_status(request_id):
    return erasures.erasure_status(read_uow(), request_id=request_id, viewer=current_identity(),
                                   services=container().settings.privacy_services)


@blp.post("/privacy/holds")
@blp.arguments(schemas.HoldIn)
@blp.response(201, schemas.HoldOut)
def place_hold(body):
    ident = require_role("compliance")
    return erasures.place_hold(uow(), owner_id=ident.user_id or "", **body)


@blp.get("/privacy/holds")
@blp.arguments(schemas.HoldQuery, location="query")
@blp.response(200, schemas.HoldListOut)
def list_holds(query):
    require_role("compliance")
    return {"items": erasures.list_holds(read_uow(), **query)}


@blp.delete("/privacy/holds/<string:hold_id>")
@blp.response(204)
def release_hold(hold_id):
    ident = require_role("compliance")
    erasures.release_hold(uow(), hold_id=hold_id, released_by=ident.user_id or "")
