from __future__ import annotations

import base64

import pytest

from services.audit.domain import cursor

KEY = b"k" * 32


def test_round_trip_and_binding_to_the_search():
    fp = cursor.fingerprint("events", {"actor": "u1"})
    token = cursor.encode(KEY, 1234, fp)
    assert cursor.decode(KEY, token, fp) == 1234
    with pytest.raises(cursor.InvalidCursor, match="another search"):
        cursor.decode(KEY, token, cursor.fingerprint("events", {"actor": "u2"}))


@pytest.mark.parametrize("token", ["", "nonsense", "!!!", base64.urlsafe_b64encode(b"5.abc.def").decode(),
                                   base64.urlsafe_b64encode(b"\xff\xfe").decode()])
def test_garbage_is_invalid(token):
    with pytest.raises(cursor.InvalidCursor):
        cursor.decode(KEY, token, "abc")


def test_a_forged_position_is_invalid():
    fp = cursor.fingerprint("events", {})
    raw = base64.urlsafe_b64decode(cursor.encode(KEY, 10, fp) + "==").decode()
    _seq, f, tag = raw.split(".")
    forged = base64.urlsafe_b64encode(f"99999.{f}.{tag}".encode()).decode().rstrip("=")
    with pytest.raises(cursor.InvalidCursor):
        cursor.decode(KEY, forged, fp)
    with pytest.raises(cursor.InvalidCursor):
        cursor.decode(b"other-key", cursor.encode(KEY, 10, fp), fp)
