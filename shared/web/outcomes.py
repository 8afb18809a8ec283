"""The error statuses each operation can answer, read from its code, for the OpenAPI documents.

A view's outcomes other than success are the exceptions raised by the view and by every function it calls,
followed through the service's and the shared code (names resolved in each function's module as Python
would; a method called on an object, ``case.close()``, is followed into every method of that name in the
service's own package, which may name a status the call never reaches, never miss one). Each exception
maps to its status: an ``ApiError`` subclass carries it (or a literal ``status=`` where it is raised), a
service's table maps its own domain errors (``map_errors``), a werkzeug ``HTTPException`` has its code.
The statuses the layers in front of every view answer (identity check, parsing, the gateway's) are added
by the gateway's merge (``services/gateway/domain/openapi.py``). ``PortalApi`` writes what this finds into
each operation, so the documents list every status with its codes instead of a ``default``; Schemathesis
(``status_code_conformance``) checks the result against the running platform.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from http import HTTPStatus
from types import FunctionType, ModuleType
from typing import Any

from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from shared.errors import DEFAULT_CODES, ApiError

_DOMAIN_TABLES: dict[type[BaseException], tuple[int, str]] = {}
_OWN_CODE = ("services.", "shared.")


def map_errors(table: dict[Any, tuple[int, str]]) -> None:
    """A service's own table from domain exceptions to (status, code) (its ``api/errors.py``)."""
    _DOMAIN_TABLES.update(table)


def outcomes(view: Callable[..., Any]) -> dict[int, set[str]]:
    """``{status: {code, ...}}`` of the errors ``view`` can raise."""
    found: dict[int, set[str]] = {}
    for status, code in _raised(view):
        found.setdefault(status, set()).add(code)
    return found


@functools.cache
def _raised(func: Callable[..., Any]) -> frozenset[tuple[int, str]]:
    """Everything ``func`` and what it calls can raise (each function's own summary is read once)."""
    found: set[tuple[int, str]] = set()
    stack: list[Any] = [func]
    seen: set[Any] = set()
    while stack:
        current = stack.pop()
        if current in seen or len(seen) > 5000:
            continue
        seen.add(current)
        own, callees = _summary(current)
        found |= own
        stack.extend(callees)
    return frozenset(found)


@functools.cache
def _summary(func: Any) -> tuple[frozenset[tuple[int, str]], tuple[FunctionType, ...]]:
    """(the statuses ``func`` raises itself, the functions it calls), from its module's syntax tree."""
    module = inspect.getmodule(func) if isinstance(func, FunctionType) else None
    # functools.wraps copies __module__: a library's wrapper is known by where its code is.
    if module is None or not module.__name__.startswith(_OWN_CODE) or \
            getattr(module, "__file__", None) != func.__code__.co_filename:
        wrapped = getattr(func, "__wrapped__", None)  # a library's decorator (flask-smorest's): the view inside
        return frozenset(), (wrapped,) if wrapped is not None else ()
    tree = _definitions(module).get(func.__code__.co_firstlineno)
    if tree is None:
        return frozenset(), ()
    names = dict(vars(module))
    names.update(inspect.getclosurevars(func).nonlocals)
    for node in ast.walk(tree):  # imports inside the function body
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            try:
                imported = importlib.import_module(node.module)
            except ImportError:
                continue
            for alias in node.names:
                if hasattr(imported, alias.name):
                    names[alias.asname or alias.name] = getattr(imported, alias.name)
    found: set[tuple[int, str]] = set()
    callees: list[FunctionType] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc if isinstance(node.exc, ast.Call) else None
            target = _resolve(call.func if call else node.exc, names)
            if isinstance(target, type) and issubclass(target, BaseException):
                found.update(_statuses(target, call))
            elif isinstance(target, FunctionType):  # raise make_error(...): what the factory returns
                callees.append(target)
        elif isinstance(node, ast.Call):
            target = _resolve(node.func, names)
            if isinstance(target, type) and not issubclass(target, BaseException):
                target = getattr(target, "__init__", None)
            if isinstance(target, FunctionType):
                callees.append(target)
            elif target is None and isinstance(node.func, ast.Attribute):
                callees += _methods(_package(module.__name__)).get(node.func.attr, ())
    return frozenset(found), tuple(callees)


@functools.cache
def _definitions(module: ModuleType) -> dict[int, ast.AST]:
    """Every function of a module by its first line (its first decorator's, as ``co_firstlineno`` has it)."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return {}
    found: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.lineno] = node
            if node.decorator_list:
                found[min(d.lineno for d in node.decorator_list)] = node
    return found


def _package(module: str) -> str:
    """``services.content.handlers.queries`` -> ``services.content``; shared code: ``shared``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "services" else parts[0]


@functools.cache
def _methods(package: str) -> dict[str, tuple[FunctionType, ...]]:
    """Every method defined in the package's loaded modules, by name."""
    found: dict[str, list[FunctionType]] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(package + ".")):
            continue
        for cls in list(vars(module).values()):
            if isinstance(cls, type) and cls.__module__ == name:
                for attr, value in vars(cls).items():
                    if isinstance(value, FunctionType) and not attr.startswith("__"):
                        found.setdefault(attr, []).append(value)
    return {k: tuple(v) for k, v in found.items()}


def _resolve(node: ast.expr, names: dict[str, Any]) -> Any:
    """A ``name`` or ``module.attr.attr`` expression's object, without calling anything."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, names)
        if isinstance(base, (ModuleType, type)):
            return getattr(base, node.attr, None)
    return None


def _statuses(cls: type[BaseException], call: ast.Call | None) -> Iterable[tuple[int, str]]:
    if issubclass(cls, ApiError):
        literal: dict[str | None, Any] = {k.arg: k.value.value for k in (call.keywords if call else [])
                                          if k.arg in ("status", "code") and isinstance(k.value, ast.Constant)}
        status = int(literal.get("status") or cls.status)
        return [(status, str(literal.get("code") or cls.code))]
    for domain in cls.__mro__:  # the most specific class a table names
        if domain in _DOMAIN_TABLES:
            return [_DOMAIN_TABLES[domain]]
    if issubclass(cls, HTTPException) and cls.code:
        return [(cls.code, DEFAULT_CODES.get(cls.code, "error"))]
    if issubclass(cls, ValidationError):
        return [(422, "validation_error")]
    return []  # not an answer: a bug would be a 500, which the contract never documents


_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """``/users/<string:user_id>`` -> ``/users/{user_id}`` (flask-smorest's spelling)."""
    return _CONVERTER.sub(r"{\1}", rule)


def document(spec: dict[str, Any], view_functions: dict[str, Callable[..., Any]], rules: Iterable[Any],
             error_ref: str) -> dict[str, Any]:
    """Add each operation's error statuses (with their codes) to an OpenAPI document, in place."""
    paths = spec.get("paths") or {}
    for rule in rules:
        item = paths.get(openapi_path(rule.rule))
        view = view_functions.get(rule.endpoint)
        if not isinstance(item, dict) or view is None:
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = item.get(method.lower())
            if not isinstance(operation, dict):
                continue
            handler = getattr(getattr(view, "view_class", None), method.lower(), view)
            responses = operation.setdefault("responses", {})
            for status, codes in sorted(outcomes(handler).items()):
                if str(status) not in responses:
                    responses[str(status)] = {
                        "description": f"{HTTPStatus(status).phrase}: {', '.join(sorted(codes))}",
                        "content": {"application/json": {"schema": {"$ref": error_ref}}},
                    }
    return spec
