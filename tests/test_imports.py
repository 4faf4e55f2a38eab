"""The layering of `rlrf/`, checked statically (ast, so imports inside functions count too):
no import cycle between its packages or modules, and the library never imports `flows`
(Prefect wiring sits on top of the library, not inside it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "rlrf"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imported(module: str, path: Path) -> set[str]:
    """Every dotted name `module` imports, at any depth of its body."""
    names = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` depends on pkg.mod (`_graph` falls back to pkg when the
            # name is an attribute, not a module)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _graph(unit) -> dict[str, set[str]]:
    """Edges between `unit(module)`s of rlrf (imports of outside packages are dropped)."""
    mods = _modules()
    edges: dict[str, set[str]] = {unit(m): set() for m in mods}
    for mod, path in mods.items():
        for name in _imported(mod, path):
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name and unit(name) != unit(mod):
                edges[unit(mod)].add(unit(name))
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_cycle_between_packages():
    assert _cycles(_graph(_package)) == []


def test_no_cycle_between_modules():
    assert _cycles(_graph(lambda m: m)) == []


def test_library_never_imports_flows_or_prefect():
    offenders = {
        mod: sorted(n for n in _imported(mod, path) if n.split(".")[0] in ("flows", "prefect"))
        for mod, path in _modules().items()
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_the_checker_sees_function_level_imports(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from rlrf.eval import metrics\n    import flows.rlrf_flow\n")
    assert {"rlrf.eval.metrics", "flows.rlrf_flow"} <= _imported("rlrf.x", path)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
