"""What kind of data each field of an event payload holds, declared once beside the schemas.

Every string field of every registered payload schema (and every list or dict of strings) carries
``metadata={"data": ...}`` with one of the ``Data`` values; ``tests/unit/shared/test_event_classification.py``
fails when one does not. The log store derives from it which payload fields it seals per person (and so
which ones erasure removes): ``personal`` and ``free_text`` — a string, every string of a list or dict so
classified, and such fields of nested objects (alone or in lists), found by ``seal_plan``. Use the
ready-made dicts in the schemas: ``fields.String(required=True, metadata=PERSONAL)``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

from marshmallow import Schema, fields

from shared.events.registry import registered_types, schema_for


class Data(StrEnum):
    PERSONAL = "personal"  # identifies a person: an address, a phone number, a person's name, IP, user agent
    FREE_TEXT = "free_text"  # typed by someone (subjects, notes, reasons, paths, queries): may hold anything
    PSEUDONYM = "pseudonym"  # an id or a keyed digest: stays readable, nothing behind it after erasure
    PLAIN = "plain"  # codes, statuses, times, counts, names of things (companies, items, files)


SEALED = frozenset({Data.PERSONAL, Data.FREE_TEXT})
PERSONAL = {"data": Data.PERSONAL.value}
FREE_TEXT = {"data": Data.FREE_TEXT.value}
PSEUDONYM = {"data": Data.PSEUDONYM.value}
PLAIN = {"data": Data.PLAIN.value}
_NEEDS_CLASS = (fields.String, fields.List, fields.Dict, fields.Tuple)


def data_of(field: fields.Field) -> Data | None:
    value = (field.metadata or {}).get("data")
    try:
        return Data(value) if value is not None else None
    except ValueError:
        return None


# What to seal in a payload: key -> True (seal the value: a string, or every string inside a list or dict)
# or a nested plan (the value is an object, or a list of objects, whose own fields follow that plan).
SealPlan = Mapping[str, "bool | SealPlan"]


@functools.cache
def seal_plan(type_: str, version: int) -> SealPlan:
    """Which payload fields of ``type_`` v``version`` are sealed per person (classified personal or free
    text), nested objects and lists of objects included."""
    return plan_of(schema_for(type_, version))


def plan_of(schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            nested = plan_of(inner.schema)
            if nested:
                out[key] = nested
        elif isinstance(field, _NEEDS_CLASS) and data_of(field) in SEALED:
            out[key] = True
    return out


def sealed_fields(type_: str, version: int) -> frozenset[str]:
    """The top-level payload keys of ``type_`` v``version`` holding something sealed per person."""
    return frozenset(seal_plan(type_, version))


def unclassified() -> list[str]:
    """``<type> v<version>: <field path>`` for every field that should be classified and is not."""
    out = []
    for type_, versions in sorted(registered_types().items()):
        for version, cls in sorted(versions.items()):
            out += [f"{type_} v{version}: {path}" for path in _missing(cls())]
    return out


def _missing(schema: Schema, prefix: str = "") -> Iterator[str]:
    for name, field in schema.fields.items():
        path = prefix + (field.data_key or name)
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            nested = inner.schema
            yield from _missing(nested, path + ".")
        elif isinstance(field, _NEEDS_CLASS) and data_of(field) is None:
            yield path
