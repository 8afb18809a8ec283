"""The layering rules, read from the source: ``shared/`` imports no service, and no service imports
another service's code (``services/cli``, the operations command, is the one place that knows them all)."""

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
