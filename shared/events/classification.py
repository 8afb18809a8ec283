"""What kind of data each field of an event payload holds, declared once beside the schemas.

Every string field of every registered payload schema (and every list or dict of strings) carries
``metadata={"data": ...}`` with one of the ``Data`` values; ``tests/unit/shared/test_event_classification.py``
fails when one does not. The log store derives from it which payload fields it seals per person (and so
which ones erasure removes): ``personal`` and ``free_text``. Use the ready-made dicts in the schemas:
``fields.String(required=True, metadata=PERSONAL)``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from enum import StrEnum

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


@functools.cache
def sealed_fields(type_: str, version: int) -> frozenset[str]:
    """The top-level payload keys of ``type_`` v``version`` that are sealed per person (string fields
    classified personal or free text)."""
    schema = schema_for(type_, version)
    return frozenset(f.data_key or name for name, f in schema.fields.items()
                     if isinstance(f, fields.String) and data_of(f) in SEALED)


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
