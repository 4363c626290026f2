"""Pure core, thin edges: an AST scan keeps I/O and CI imports where they belong."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "multiarch_ci"
PURE = ["errors.py", "digest.py", "reference.py", "platform.py", "model.py", "sources.py", "digests_folder.py",
        "specfile.py", "compose.py",
        "yamlsource.py", "yamlload.py", "location.py", "referrers.py", "update.py"]


def imports_of(path: Path) -> tuple[set[str], bool]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    environ = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            environ = True
    return names, environ


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_do_no_io(name):
    names, environ = imports_of(PKG / name)
    assert not names & {"requests", "actions_toolkit", "os", "subprocess", "socket", "urllib3", "http", "ssl"}, names
    assert not any(n.startswith("multiarch_ci.registry") or n.startswith("multiarch_ci.ci") for n in names)
    assert not environ


def test_only_registry_does_http_and_only_ci_imports_actions_toolkit():
    for path in PKG.rglob("*.py"):
        names, _ = imports_of(path)
        rel = path.relative_to(PKG).as_posix()
        if names & {"requests", "urllib3", "http", "ssl", "socket"}:
            assert rel.startswith("registry/"), rel
        if "actions_toolkit" in names:
            assert rel.startswith("ci/"), rel


def test_modules_stay_small():
    for path in PKG.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 360, f"{path.name} is growing past ~300 lines: split it"


def test_ci_adapters_and_the_cli_share_the_error_boundary_below_both():
    for path in (PKG / "ci").glob("*.py"):
        names, _ = imports_of(path)
        assert not any(n == "multiarch_ci.cli" or n.startswith("multiarch_ci.cli.") for n in names), path.name
    names, _ = imports_of(PKG / "boundary.py")
    assert not any(n.startswith(("multiarch_ci.cli", "multiarch_ci.ci")) for n in names)
