"""Opaque page cursors: ``(created_at, id)`` of the last row, base64url JSON on the wire."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from marshmallow import ValidationError, fields

from services.content.adapters.repositories import Cursor, is_row_id
from shared import clock


def encode_cursor(cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    raw = json.dumps([clock.isoformat(cursor[0]), cursor[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class CursorField(fields.String):
    """Loads a cursor given back by a previous page; anything else is a field error (422)."""

    def _deserialize(self, value, attr, data, **kwargs) -> Cursor:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            created_at, row_id = json.loads(raw)
            moment = datetime.fromisoformat(created_at)
            if moment.tzinfo is None or not isinstance(row_id, str) or not is_row_id(row_id):
                raise ValueError("bad cursor")
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValidationError("Not a cursor from a previous page.") from exc
        return moment, row_id
