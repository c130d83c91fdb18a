"""The code's rooms stay apart: who may import whom, and no module imports one that imports it back."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["portal", "workspaces", "domains", "notifications", "edge_function", "edgelocal", "devdns", "devstack"]
EDGE_VALUES = {'"serve"', '"gone"', '"serving"', '"not_served"', '"syncing"', '"sync_failed"'}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def production_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports, anywhere in the file (a function-level import counts too)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = production_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def test_no_module_imports_one_that_imports_it_back(graph):
    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                # A package's __init__ is not "imported back" by its own submodules.
                todo.extend(t for t in graph.get(current, ()) if not goal.startswith(t + ".") or t == goal)
        return False

    cycles = sorted(
        f"{a} ⇄ {b}"
        for a, targets in graph.items()
        for b in targets
        if not a.startswith(b + ".") and not b.startswith(a + ".") and reaches(b, a)
    )
    assert cycles == []


def test_workspaces_imports_nothing_from_domains(graph):
    offenders = {name: sorted(t for t in targets if t.split(".")[0] == "domains") for name, targets in graph.items()}
    assert {name: t for name, t in offenders.items() if name.startswith("workspaces") and t} == {}


def test_the_edge_function_never_imports_django_or_the_portal():
    for path in (ROOT / "edge_function").rglob("*.py"):
        tree = ast.parse(path.read_text())
        roots = {
            (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not roots & {"django", "domains", "workspaces", "portal", "rest_framework"}, path


def test_only_the_edge_package_spells_the_edge_states():
    spelled = []
    for package in ("domains", "workspaces", "portal"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.is_relative_to(ROOT / "domains" / "edge"):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and f'"{node.value}"' in EDGE_VALUES:
                    spelled.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert spelled == []


def test_only_the_cdn_package_spells_cloudfronts_certificate_statuses():
    from domains.cdn.states import CertificateStatus

    statuses = set(CertificateStatus.values) - {"failed"}  # "failed" is a domain status too
    spelled = []
    for package in ("domains", "workspaces", "portal"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.is_relative_to(ROOT / "domains" / "cdn"):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and node.value in statuses:
                    spelled.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert spelled == []
