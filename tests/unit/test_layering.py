"""The layering rules, read from the source: ``shared/`` imports no service, and no service imports
another service's code (``services/cli``, the operations command, is the one place that knows them all);
inside a service, the conventions of docs/conventions.md (handlers on ports, one error table, no web or
database library where a use case runs)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OPS = "cli"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_shared_imports_no_service():
    wrong = [f"{p.relative_to(REPO)}: {m}" for p in sorted((REPO / "shared").rglob("*.py"))
             for m in sorted(imported_modules(p)) if m == "services" or m.startswith("services.")]
    assert wrong == []


def test_no_service_imports_another():
    wrong = []
    for service in sorted(d.name for d in (REPO / "services").iterdir() if (d / "__init__.py").is_file()):
        if service == OPS:
            continue
        for path in sorted((REPO / "services" / service).rglob("*.py")):
            for module in sorted(imported_modules(path)):
                parts = module.split(".")
                if parts[0] == "services" and len(parts) > 1 and parts[1] not in (service, "__init__"):
                    wrong.append(f"{path.relative_to(REPO)}: {module}")
    assert wrong == []


# --- inside a service: the conventions of docs/conventions.md ---------------------------------------------

BACKEND = ("identity", "linking", "content", "audit")  # the services with handlers, a database and events
WEB_STACK = ("flask", "flask_smorest", "werkzeug")


def _modules_under(service: str, part: str) -> list[Path]:
    base = REPO / "services" / service
    return sorted((base / part).rglob("*.py")) if (base / part).is_dir() else [p for p in [base / part] if p.is_file()]


def _top(module: str) -> str:
    return module.split(".")[0]


def test_each_backend_service_has_the_same_parts():
    expected = ["api/deps.py", "api/errors.py", "api/privacy.py", "handlers/ports.py", "domain/errors.py",
                "adapters/uow.py", "bootstrap.py", "config.py", "consumers.py"]
    missing = [f"services/{s}/{part}" for s in BACKEND for part in expected
               if not (REPO / "services" / s / part).is_file()]
    assert missing == []


def test_handlers_depend_on_ports_never_on_adapters():
    wrong = []
    for service in BACKEND:
        for path in _modules_under(service, "handlers"):
            rel = str(path.relative_to(REPO))
            for module in imported_modules(path):
                if module.startswith(f"services.{service}.adapters"):
                    wrong.append(f"{rel}: {module}")
                if module.startswith(f"services.{service}.api"):
                    wrong.append(f"{rel}: {module}")
    assert wrong == []


def test_handlers_and_domain_import_no_database_or_web_library():
    """No SQLAlchemy (a refused change reaches a handler as ``shared.uow.RecordConflict``), no Flask (a handler
    takes plain values, never ``flask.request``)."""
    wrong = []
    for service in BACKEND:
        for path in _modules_under(service, "handlers") + _modules_under(service, "domain"):
            for module in imported_modules(path):
                if _top(module) in ("sqlalchemy", *WEB_STACK):
                    wrong.append(f"{path.relative_to(REPO)}: {module}")
    assert wrong == []


def test_workers_import_no_web_library():
    wrong = [f"{path.relative_to(REPO)}: {module}" for service in BACKEND
             for path in _modules_under(service, "consumers.py") + _modules_under(service, "worker.py")
             for module in imported_modules(path) if _top(module) in WEB_STACK or ".api" in module]
    assert wrong == []


def test_consumers_reach_the_database_only_through_units_of_work():
    """A consumer's handler gets ``container.bound_uow`` on the inbox transaction (``in_unit_of_work``), never
    repositories built on the session: from ``adapters/`` a consumer takes only the inbox's tables."""
    wrong = [f"{path.relative_to(REPO)}: {module}" for service in BACKEND
             for path in _modules_under(service, "consumers.py") for module in imported_modules(path)
             if module.startswith(f"services.{service}.adapters.") and module != f"services.{service}.adapters.tables"]
    assert wrong == []


def test_a_unit_of_work_is_typed_by_its_port():
    """Every handler parameter holding a unit of work is annotated, and not as ``Any``."""
    wrong = []
    for service in BACKEND:
        for path in _modules_under(service, "handlers"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for arg in [*node.args.args, *node.args.kwonlyargs]:
                    if "uow" in arg.arg and (arg.annotation is None or ast.unparse(arg.annotation) == "Any"):
                        wrong.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}({arg.arg})")
    assert wrong == []


def test_every_domain_error_has_a_status_in_its_service_table():
    import importlib
    import inspect

    from shared.errors import DomainError

    missing = []
    for service in BACKEND:
        domain = importlib.import_module(f"services.{service}.domain.errors")
        table = importlib.import_module(f"services.{service}.api.errors").STATUS
        for name, cls in vars(domain).items():
            if inspect.isclass(cls) and issubclass(cls, DomainError) and cls is not DomainError \
                    and cls.__module__ == domain.__name__ and not any(k in table for k in cls.__mro__):
                missing.append(f"{service}: {name}")
    assert missing == []


def test_views_open_units_of_work_through_deps():
    """A view takes its unit of work from ``api/deps.py`` (``uow()``, ``read_uow()``; audit ``units()``),
    never from the container directly."""
    wrong = []
    for service in BACKEND:
        for path in _modules_under(service, "api"):
            text = path.read_text()
            if path.name != "deps.py" and ("container().uow(" in text or "container().read_uow(" in text):
                wrong.append(str(path.relative_to(REPO)))
    assert wrong == []


def test_a_worker_process_loads_no_web_stack():
    """What a worker imports (its consumers, the container, the handlers and domain errors they raise) pulls in
    neither Flask nor werkzeug."""
    import subprocess
    import sys

    modules = ", ".join(f"services.{s}.{m}" for s in BACKEND for m in ("consumers", "bootstrap", "domain.errors"))
    code = f"import sys, {modules}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(WEB_STACK)!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
