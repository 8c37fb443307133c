"""The engine's layering: stages import only lower stages, modules form no import cycle, and no module imports
another module's private (_x) name. Imports are read from the source (also those inside functions), so cycles
that lazy imports hide are found too."""
from __future__ import annotations

import ast
from pathlib import Path

import engine

ROOT = Path(engine.__file__).parent
STAGES = ("base", "lang", "data", "policy", "run", "report", "testing", "serve", "cli")  # lowest first
BASE = {"engine.errors", "engine.paths", "engine.version", "engine.limits", "engine.values", "engine.cache", "engine.duck"}
FACADE = "engine"  # the package itself: the Python API (load_policies, check …); it may import any stage, none imports it

# Known violations owned by work in progress elsewhere; each entry must still occur (the test says when it is gone).
PENDING: set[tuple[str, str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def stage(module: str) -> int:
    if module in BASE:
        return 0
    if module == FACADE:
        return len(STAGES)
    return STAGES.index(module.split(".")[1])


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import of an engine module in `module`."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "engine"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "engine":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in MODULES:  # from engine.cli import assess: the module engine.cli.assess
                    out.append((sub, None, node.lineno))
                else:
                    out.append((base, a.name, node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    """Module -> engine modules it imports (a package's __init__ is not counted as imported by its submodules)."""
    g = {}
    for m in MODULES:
        targets = {t for t, _, _ in imports(m) if t in MODULES and t != m}
        g[m] = {t for t in targets if not m.startswith(t + ".")}
    return g


def test_every_module_is_in_a_stage():
    for m in MODULES:
        assert stage(m) >= 0, m  # STAGES.index raises for a subpackage that is not a stage


def test_nothing_imports_the_facade():
    bad = [f"{m}:{line}" for m in MODULES if m != FACADE for target, _, line in imports(m) if target == FACADE]
    assert not bad, "import from engine.<module>, not from the package engine: " + ", ".join(bad)


def test_no_import_from_a_higher_stage():
    found = set()
    for m in MODULES:
        for target, _, line in imports(m):
            if target in MODULES and stage(target) > stage(m):
                found.add(("stage", m, target))
    unexpected = found - PENDING
    assert not unexpected, "imports from a higher stage (order: " + " < ".join(STAGES) + "): " + str(sorted(unexpected))
    assert {p for p in PENDING if p[0] == "stage"} <= found, "a pending violation is gone: remove it from PENDING"


def test_no_import_of_a_private_name():
    bad = [f"{m}:{line} imports {target}.{name}" for m in MODULES for target, name, line in imports(m)
           if name is not None and name.startswith("_") and not name.startswith("__") and target != m]
    assert not bad, bad


def cycles_of(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycle():
    cycles = cycles_of(graph())
    assert not cycles, f"import cycles: {cycles}"


def test_cycles_are_found():
    assert cycles_of({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles_of({"a": {"b"}, "b": set()}) == []



def test_imports_inside_functions_count():
    """engine.testing.cases imports the runner inside a function: the walker sees it."""
    assert any(t == "engine.run.runner" for t, _, _ in imports("engine.testing.cases"))


def test_every_package_is_installed():
    """pyproject lists packages explicitly (the bundled policies/schemas/datasets map to engine._*): a new
    subpackage missing from the list would be absent from a built wheel."""
    import tomllib

    listed = set(tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {module_name(p) for p in ROOT.rglob("__init__.py")}
    assert found <= listed, f"add to pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}"
