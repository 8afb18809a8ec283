"""A stand-in service for the gateway's tests (test code only): it refuses unsigned calls exactly like
a real service (shared.web.app), echoes what it received, streams large bodies both ways and, as
``identity``, resolves sessions kept in Redis by the tests.

gunicorn "tests.integration.gateway.upstream_app:create()" with UPSTREAM_NAME, PORTAL_INTERNAL_SECRET,
and for the identity role FAKE_SESSIONS_REDIS.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

import redis
from flask import Flask, Response, jsonify, request

from shared.web.app import accepts, create_base_app
from shared.web.errors import NotFound
from shared.web.identity import current_identity, require_system

PATTERN = bytes(range(256)) * 256  # 64 KiB


def pattern_bytes(size: int):
    """Deterministic bytes, produced as they are sent (never all in memory)."""
    left = size
    while left > 0:
        chunk = PATTERN[: min(left, len(PATTERN))]
        left -= len(chunk)
        yield chunk


def create(name: str | None = None, secret: bytes | None = None, sessions_url: str | None = None) -> Flask:
    name = name or os.environ.get("UPSTREAM_NAME", "content")
    secret = secret or os.environ["PORTAL_INTERNAL_SECRET"].encode()
    app, _api = create_base_app(name, secret=secret,
                                max_content_length=int(os.environ.get("PORTAL_MAX_BODY_BYTES", 1 << 20)))
    sessions_url = sessions_url or os.environ.get("FAKE_SESSIONS_REDIS")
    store = redis.Redis.from_url(sessions_url) if sessions_url else None

    @app.get("/echo")
    @app.post("/echo")
    @app.get("/echo/<path:rest>")
    def echo(rest: str = ""):
        ident = current_identity()
        body = request.get_data()
        return jsonify(
            path=request.path, query=request.query_string.decode(), method=request.method,
            body_sha256=hashlib.sha256(body).hexdigest(),
            headers={k: v for k, v in request.headers.items()},
            identity={"user_id": ident.user_id, "roles": sorted(ident.roles), "session_id": ident.session_id,
                      "anonymous_id": ident.anonymous_id, "request_id": ident.request_id,
                      "auth_time": ident.auth_time, "client_ip": ident.client_ip},
        )

    @app.post("/json")
    def json_body():
        return jsonify(received=request.get_json())

    @app.post("/upload")
    @accepts("application/octet-stream")
    def upload():
        request.max_content_length = 1 << 40  # this route takes large files, read as they come
        digest, size = hashlib.sha256(), 0
        while True:
            chunk = request.stream.read(65536)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        return jsonify(size=size, sha256=digest.hexdigest()), 201

    @app.get("/download")
    def download():
        size = int(request.args.get("size", "0"))
        headers = {"Content-Disposition": 'attachment; filename="blob.bin"', "ETag": '"v1"',
                   "Accept-Ranges": "bytes"}
        if request.args.get("chunked") != "1":
            headers["Content-Length"] = str(size)
        return Response(pattern_bytes(size), mimetype="application/octet-stream", headers=headers,
                        direct_passthrough=True)

    @app.get("/cookies")
    def cookies():
        resp = jsonify(ok=True)
        resp.set_cookie("a", "1", httponly=True)
        resp.set_cookie("b", "2", samesite="Lax")
        resp.headers["Keep-Alive"] = "timeout=5"  # hop-by-hop: must not cross the gateway
        return resp

    @app.get("/redirect")
    def redirect():
        return Response(status=302, headers={"Location": "/echo"})

    @app.delete("/nothing")
    def nothing():
        resp = Response(status=204)
        del resp.headers["Content-Type"]
        return resp

    @app.get("/slow")
    def slow():
        time.sleep(float(request.args.get("seconds", "1")))
        return jsonify(slept=True)

    @app.get("/busy")
    @app.post("/busy")
    def busy():
        body = {"error": {"code": "too_many_streams", "message": "busy", "fields": {}}}
        return jsonify(body), 429, {"Retry-After": "3"}

    @app.get("/policy")
    def policy():
        return jsonify(version="2026-01", published_at="2026-01-01T00:00:00+00:00", reduces_rights=False)

    @app.post("/internal/sessions/resolve")
    def resolve():
        require_system()
        if store is None:
            raise NotFound("no session store")
        token = (request.get_json() or {}).get("token", "")
        raw = store.get(f"fake:session:{hashlib.sha256(token.encode()).hexdigest()}")
        store.incr("fake:resolve:calls")
        if raw is None:
            raise NotFound("Unknown session.", code="session_invalid")
        return jsonify(json.loads(raw))

    return app


def put_session(store: redis.Redis, token: str, body: dict) -> None:
    """What identity would answer for ``token`` (tests write it, the fake resolve reads it)."""
    store.set(f"fake:session:{hashlib.sha256(token.encode()).hexdigest()}", json.dumps(body))


def drop_session(store: redis.Redis, token: str) -> None:
    """End a session the way identity does: forget it, then move the epoch."""
    store.delete(f"fake:session:{hashlib.sha256(token.encode()).hexdigest()}")
    store.incr("portal:sessions:epoch")
