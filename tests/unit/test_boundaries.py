"""The house's rules, read from the code's imports (AST): layers point down only, no circles, a pure core.

Layers, lowest first: core/ (pure values and rules) <- sources/, registry/, layout/ (side by side, never
importing each other, except that layout/ and registry/ may share nothing but core) <- flow/ (sees core/ and
the Store protocol only) <- frontends/ (the only place that wires registry and layout stores into the flow).
Inside registry/: http/ <- auth/ <- the client modules."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "multiarch_ci"

LAYER = {"core": 0, "sources": 1, "registry": 1, "layout": 1, "flow": 2, "frontends": 3}
SIDEWAYS_FORBIDDEN = {("sources", "registry"), ("sources", "layout"), ("registry", "sources"),
                      ("registry", "layout"), ("layout", "sources"), ("layout", "registry")}
REGISTRY_FLOOR = {"http": 0, "auth": 1}   # anything else in registry/ is floor 2
# Imports that break a rule (none today); a test below fails on any new one.
KNOWN: set[tuple[str, str]] = set()
KNOWN_CIRCLES: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> tuple[set[str], bool]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    environ = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            environ = True
    return names, environ


def package_imports(path: Path) -> set[str]:
    """The project's modules a file imports (an imported name that is a module counts as that module)."""
    names, _ = imports_of(path)
    out = set()
    for name in names:
        if not name.startswith("multiarch_ci."):
            continue
        parts = name.split(".")
        while len(parts) > 2:   # multiarch_ci.AREA alone is a package's face (a docstring), not a layer
            candidate = PKG.parent.joinpath(*parts)
            if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
                out.add(".".join(parts))
                break
            parts.pop()
    return out


def files():
    return sorted(p for p in PKG.rglob("*.py"))


GRAPH = {module_name(p): package_imports(p) - {module_name(p)} for p in files()}


def area(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 2 else "top"


def registry_floor(mod: str) -> int:
    parts = mod.split(".")
    return REGISTRY_FLOOR.get(parts[2], 2) if len(parts) > 3 else 2


def problems() -> set[tuple[str, str]]:
    found = set()
    for mod, deps in GRAPH.items():
        a = area(mod)
        for dep in deps:
            b = area(dep)
            if a == "top" or b == "top":
                if b == "top" and dep not in ("multiarch_ci", "multiarch_ci.__init__"):
                    found.add((mod, dep))
                continue
            if a == b:
                if a == "registry" and registry_floor(dep) > registry_floor(mod):
                    found.add((mod, dep))
                continue
            if LAYER[b] > LAYER[a] or (a, b) in SIDEWAYS_FORBIDDEN:
                found.add((mod, dep))
            if a == "flow" and b in ("registry", "layout"):
                found.add((mod, dep))
    return found


def test_imports_point_down_only():
    new = problems() - KNOWN
    assert not new, "imports that point up or sideways (see this file's docstring): " + ", ".join(
        f"{a} -> {b}" for a, b in sorted(new))


def test_the_known_list_holds_only_what_is_still_true():
    assert not KNOWN - problems(), f"fixed, drop from KNOWN: {sorted(KNOWN - problems())}"
    for a, b in KNOWN_CIRCLES:
        assert b in GRAPH[a] and a in GRAPH[b], f"circle {a} <-> {b} is gone: drop it from KNOWN_CIRCLES"


def test_no_import_circles():
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(mod: str) -> None:
        seen[mod] = 1
        stack.append(mod)
        for dep in sorted(GRAPH.get(mod, ())):
            if seen.get(dep) == 1 and (dep, mod) not in KNOWN_CIRCLES:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(dep):] + [dep]))
            if dep not in seen:
                visit(dep)
        stack.pop()
        seen[mod] = 2

    for mod in sorted(GRAPH):
        if mod not in seen:
            visit(mod)


@pytest.mark.parametrize("path", [p for p in files() if area(module_name(p)) in ("core", "sources")],
                         ids=lambda p: p.relative_to(PKG).as_posix())
def test_core_and_sources_do_no_io(path):
    names, environ = imports_of(path)
    top = {n.split(".")[0] for n in names}
    assert not top & {"requests", "actions_toolkit", "os", "subprocess", "socket", "urllib3", "http", "ssl",
                      "threading", "concurrent"}, names
    assert not environ


def test_only_registry_http_does_http_and_only_frontends_import_actions_toolkit():
    for path in files():
        names, _ = imports_of(path)
        top = {n.split(".")[0] for n in names}
        rel = path.relative_to(PKG).as_posix()
        if top & {"requests", "urllib3", "ssl", "socket"} or "http.client" in names:
            assert rel.startswith("registry/http/"), rel
        if "actions_toolkit" in top:
            assert rel.startswith("frontends/"), rel


def test_at_most_a_handful_of_modules_at_the_top():
    assert sorted(p.name for p in PKG.glob("*.py")) == ["__init__.py", "__main__.py"]


def test_modules_stay_small():
    for path in files():
        assert len(path.read_text().splitlines()) <= 360, f"{path.name} is growing past ~300 lines: split it"


def test_the_error_boundary_sits_below_every_front_end():
    names, _ = imports_of(PKG / "frontends" / "boundary.py")
    assert not any(n.startswith(("multiarch_ci.frontends.cli", "multiarch_ci.frontends.github",
                                 "multiarch_ci.frontends.gitlab")) for n in names)


# Whether a reference names a layout is asked where its store is chosen (frontends/stores.py) and by the
# ref type itself; the front ends' input checks below are today's others. A test fails on any new one.
LAYOUT_CHOICE = {"frontends/stores.py", "core/location.py"}
KNOWN_LAYOUT_CHECKS = {"frontends/cli.py", "frontends/settings.py"}   # input: what kind of location was written


def test_only_the_store_choice_asks_whether_a_ref_is_a_layout():
    asking = set()
    for path in files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and \
                    any(isinstance(n, ast.Name) and n.id == "LayoutRef" for n in ast.walk(node.args[1])):
                asking.add(path.relative_to(PKG).as_posix())
    assert asking - LAYOUT_CHOICE - KNOWN_LAYOUT_CHECKS == set(), "choose the store once (frontends/stores.py)"
    assert asking >= KNOWN_LAYOUT_CHECKS, f"gone, drop from KNOWN_LAYOUT_CHECKS: {KNOWN_LAYOUT_CHECKS - asking}"
