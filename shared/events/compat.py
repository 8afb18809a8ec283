"""Backward-compatibility of event payload schemas.

A schema is described as ``{field: {"type": ..., "required": ...}}`` (nested schemas recursively).
A published description is kept in ``shared/events/contracts/<producer>.json``; the current code
must stay compatible with it: no field removed or renamed, no type changed, no new required field.
New fields and new versions are fine; ``portal events snapshot`` records them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from marshmallow import Schema, fields

from shared.events.registry import registered_types

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"


def describe(schema: Schema | type[Schema]) -> dict[str, Any]:
    inst = schema() if isinstance(schema, type) else schema
    out: dict[str, Any] = {}
    for name, fld in inst.fields.items():
        key = fld.data_key or name
        out[key] = _describe_field(fld)
    return out


def _describe_field(fld: fields.Field) -> dict[str, Any]:
    desc: dict[str, Any] = {"type": type(fld).__name__, "required": bool(fld.required)}
    if isinstance(fld, fields.Nested):
        nested = fld.schema
        desc["nested"] = describe(nested)
        desc["many"] = bool(getattr(fld, "many", False))
    elif isinstance(fld, fields.List):
        desc["items"] = _describe_field(fld.inner)
    return desc


def current_contracts() -> dict[str, dict[str, dict[str, Any]]]:
    """``{producer: {"<type>@<version>": description}}`` for every registered schema."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for type_, versions in sorted(registered_types().items()):
        producer = type_.split(".", 1)[0]
        for version, cls in sorted(versions.items()):
            out.setdefault(producer, {})[f"{type_}@{version}"] = describe(cls)
    return out


def incompatibilities(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """What in ``new`` would break a consumer written against ``old``."""
    problems: list[str] = []
    for name, old_desc in old.items():
        where = f"{path}{name}"
        if name not in new:
            problems.append(f"{where}: removed or renamed")
            continue
        new_desc = new[name]
        if new_desc["type"] != old_desc["type"]:
            problems.append(f"{where}: type changed {old_desc['type']} -> {new_desc['type']}")
        if new_desc["required"] and not old_desc["required"]:
            problems.append(f"{where}: became required")
        if "nested" in old_desc and "nested" in new_desc:
            problems += incompatibilities(old_desc["nested"], new_desc["nested"], where + ".")
        if "items" in old_desc and "items" in new_desc:
            problems += incompatibilities({"[]": old_desc["items"]}, {"[]": new_desc["items"]}, where)
    for name, new_desc in new.items():
        if name not in old and new_desc["required"]:
            problems.append(f"{path}{name}: new required field")
    return problems


def check_against_contracts(contracts_dir: Path = CONTRACTS_DIR) -> list[str]:
    problems: list[str] = []
    current = current_contracts()
    for file in sorted(contracts_dir.glob("*.json")):
        published = json.loads(file.read_text())
        mine = current.get(file.stem, {})
        for key, old_desc in published.items():
            if key not in mine:
                problems.append(f"{key}: published schema no longer registered")
                continue
            problems += [f"{key}: {p}" for p in incompatibilities(old_desc, mine[key])]
    return problems


def write_snapshot(contracts_dir: Path = CONTRACTS_DIR) -> list[Path]:
    """Record the current schemas as published (refuses when they break the published ones)."""
    problems = check_against_contracts(contracts_dir)
    if problems:
        raise ValueError("incompatible schema changes:\n" + "\n".join(problems))
    contracts_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for producer, described in current_contracts().items():
        file = contracts_dir / f"{producer}.json"
        file.write_text(json.dumps(described, indent=2, sort_keys=True) + "\n")
        written.append(file)
    return written
