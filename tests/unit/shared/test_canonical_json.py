"""The canonical encoder writes the standard library's bytes for every value (signatures and the audit hash
chain depend on them): orjson where it agrees, the standard encoder elsewhere."""

from __future__ import annotations

import json
import math
import struct
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.canonical_json import Canonical

ASCII = Canonical(ensure_ascii=True)
UTF8 = Canonical(ensure_ascii=False)
STD_ASCII = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
STD_UTF8 = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

TRICKY = [
    "", "plain", "é", "日本語", "\U0001f600", "\x7f", "\x00", "\x1f", "\u2028\u2029", '"\\/', "\b\f\n\r\t",
    "\ufeff", "\uffff", "enc2:" + "0" * 32 + ":#3",
    0, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30, -(10**30),
    True, False, None,
    0.0, -0.0, 3.5, 0.1, 1e-4, 9.99e-5, 1e-5, 2.5e-7, 1.5e-300, 5e-324, 1e15, 1e16, 1.5e16, 1e22, 1e308,
    1.7976931348623157e308, float("nan"), float("inf"), float("-inf"), 123456789012345678.0,
]


def _both(value):
    assert ASCII.text(value) == STD_ASCII.encode(value)
    assert UTF8.utf8(value) == STD_UTF8.encode(value).encode()


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_tricky_values_alone_in_a_list_and_as_a_key(value):
    _both(value)
    _both([value, {"z": value, "a": [value]}])
    if isinstance(value, str):
        _both({value: 1, "m": value, "\u00e9": 2, "A": 3})


def test_keys_sort_by_code_point_beyond_the_basic_plane():
    _both({"b": 1, "a": 2, "é": 3, "z": 4, "\U0001f600": 5, "\uffff": 6, "\ue000": 7, "": 8})


def test_what_orjson_refuses_or_would_write_otherwise_goes_to_the_standard_encoder():
    for value in ({1: "int key"}, {"t": (1, 2)}, [[[[["deep"]]]]], {"n": 2**70}):
        _both(value)
    deep: list = []
    for _ in range(300):  # deeper than orjson nests
        deep = [deep]
    _both(deep)
    # Not JSON values: the standard library refuses them, and so does the canonical encoder.
    for value in ({"at": datetime.now(UTC)}, {"id": uuid.uuid4()}, {1.5: "x", "a": 1}):
        with pytest.raises(TypeError):
            ASCII.text(value)
        with pytest.raises(TypeError):
            STD_ASCII.encode(value)


def test_lone_surrogates_as_before():
    value = {"s": "\ud800"}
    assert ASCII.text(value) == STD_ASCII.encode(value)
    with pytest.raises(UnicodeEncodeError):
        UTF8.utf8(value)


def test_a_default_for_the_callers_own_leaves():
    class Leaf:
        def __init__(self, text):
            self.text = text

    def default(value):
        if isinstance(value, Leaf):
            return value.text
        raise TypeError(type(value).__name__)

    enc = Canonical(ensure_ascii=True, default=default, leaves=(Leaf,))
    value = {"b": Leaf("enc2:abc"), "a": [Leaf("é"), 1e-5]}
    assert enc.text(value) == json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=default).encode(value)


def test_floats_of_every_exponent():
    import random

    rnd = random.Random(20261203)
    for _ in range(20_000):
        value = struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0]
        _both([value, rnd.uniform(-1, 1) * 10 ** rnd.randrange(-12, 25)])
    assert math.isnan(json.loads(ASCII.text(float("nan"))))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


# Hypothesis takes any draw from the global `random` while it generates for a strategy's use of it; a
# thread another test of this process left running (a retry's jitter, a probe) can draw meanwhile.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@settings(max_examples=400, deadline=None)
@given(json_values)
def test_any_json_value(value):
    _both(value)


def test_an_access_event_takes_orjson():
    payload = {"method": "GET", "path": "/api/x?q=1", "query": "", "status": 200, "duration_ms": 3.5,
               "user_id": "user-1", "anonymous_id": None, "client_ip": "203.0.113.7", "bytes_sent": 512}
    assert ASCII._fast(payload) == STD_ASCII.encode(payload).encode()
    assert UTF8._fast([str(uuid.uuid4()), "gateway.request.completed", 1, payload]) is not None
