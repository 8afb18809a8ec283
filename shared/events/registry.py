"""One registry of every event type's payload schema, by (type, version).

Payload schemas are declared in ``shared/events/schemas/<producer>.py`` with ``@event_schema``.
Adding a field is fine; removing or renaming one, changing its type, or adding a required field
needs a new version (see ``compat.py`` and its test).
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from marshmallow import EXCLUDE, Schema

_TYPE_RE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*\.[a-z][a-z_]*$")
_REGISTRY: dict[str, dict[int, type[Schema]]] = {}
_loaded = False


class UnknownEventType(LookupError):
    pass


def event_schema(type_: str, version: int = 1):
    """Class decorator: register a marshmallow payload schema for ``type_`` at ``version``."""
    if not _TYPE_RE.match(type_):
        raise ValueError(f"event type {type_!r} must be <service>.<entity>.<action>")

    def register(cls: type[Schema]) -> type[Schema]:
        versions = _REGISTRY.setdefault(type_, {})
        if version in versions and versions[version] is not cls:
            raise ValueError(f"{type_} v{version} registered twice")
        versions[version] = cls
        return cls

    return register


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    from shared.events import schemas

    for mod in pkgutil.iter_modules(schemas.__path__):
        importlib.import_module(f"shared.events.schemas.{mod.name}")
    _loaded = True


def schema_for(type_: str, version: int | None = None) -> Schema:
    _load_all()
    versions = _REGISTRY.get(type_)
    if not versions:
        raise UnknownEventType(type_)
    if version is None:
        version = max(versions)
    cls = versions.get(version)
    if cls is None:
        raise UnknownEventType(f"{type_} v{version}")
    return _instance(cls)


_instances: dict[type[Schema], Schema] = {}


def _instance(cls: type[Schema]) -> Schema:
    inst = _instances.get(cls)
    if inst is None:
        inst = _instances[cls] = cls(unknown=EXCLUDE)
    return inst


def latest_version(type_: str) -> int:
    _load_all()
    versions = _REGISTRY.get(type_)
    if not versions:
        raise UnknownEventType(type_)
    return max(versions)


def registered_types() -> dict[str, dict[int, type[Schema]]]:
    _load_all()
    return {t: dict(v) for t, v in _REGISTRY.items()}
