"""The import layering: each module imports only modules below it, so the import graph has no
circle; read from the source with ast (imports inside functions count: they are how a circle hides)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "nnexam"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)  # "" is the package itself


def _imports(path: Path) -> set[str]:
    """The nnexam modules `path` imports, anywhere in it (top level, functions, TYPE_CHECKING blocks aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".") if _module_name(path) else []
    package = here if path.name == "__init__.py" else here[:-1]
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else []
                # `from . import csvout` imports a module; `from .x import y` imports x (y may be a submodule)
                names += [f"{target}.{a.name}".strip(".") for a in node.names]
            elif node.module and (node.module == "nnexam" or node.module.startswith("nnexam.")):
                target = node.module.removeprefix("nnexam").lstrip(".")
                names = [target] + [f"{target}.{a.name}".strip(".") for a in node.names]
            else:
                continue
            found.update(names)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("nnexam").lstrip(".") for a in node.names
                         if a.name == "nnexam" or a.name.startswith("nnexam."))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        edges[name] = {m for m in _imports(path) if m in modules and m != name and m != ""}
    return edges


def test_spec_imports_nothing_from_the_layers_above_it(graph):
    # today: spec imports graph and notation (to check printed names) and solve (to check sizes)
    assert graph["spec"] <= {"errors", "files", "ids"}


def test_the_core_knows_no_command_line_lms_or_pdf(graph):
    for core in ("spec", "graph", "solve", "grade", "expr", "mistakes", "notation", "tolerance"):
        above = {m for m in graph[core] if m.split(".")[0] in ("cli", "lms", "render", "report", "gradebook", "present")}
        assert above == set(), core


def test_the_import_graph_has_no_circle(graph):
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                pytest.fail("import circle: " + " -> ".join(circle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_reader_sees_every_import():
    # The checks above are only as good as the parser: spot-check what it finds.
    imports = _imports(PACKAGE / "grade.py")
    assert {"manifest", "solve", "table", "errors"} <= imports
    assert "gradebook" not in imports
