"""workspaces stands on its own: the domains app builds on it, never the reverse."""

import ast
from pathlib import Path


def test_workspaces_imports_nothing_from_domains():
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in sorted((root / "workspaces").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.relative_to(root)}: {name}" for name in names if name.split(".")[0] == "domains"]
    assert offenders == []
