"""Start-up: a push imports only what its form needs (issue 15: first request under 100 ms), and sends
its first request before importing what only later steps need.

The import set is read from the real CLI run with PYTHONPROFILEIMPORTTIME=1 (`-X importtime`), or from
`sys.modules` at the first connection; nothing is timed.
"""
import json
import re
import subprocess
import sys
import time

import pytest
import yaml

import mm_images
import mm_registry
from mm_cli import ROOT, run_cli

NOT_FOR_FROM_ARGS = {"yaml", "_yaml", "semver", "actions_toolkit"}


def imported(err: str) -> set[str]:
    """Module names of the `-X importtime` lines. Threads import at once (the pings ahead, the request
    pool), so two threads' lines can run together: a name is taken wherever `| name` ends at a line break
    or at the next `import time:`, not only on a clean line of its own."""
    return set(re.findall(r"\|\s*([A-Za-z_][\w.]*)(?=\s*(?:$|import time:))", err, re.M))


def seed(registry, repo_name):
    mm_images.push_image(registry, repo_name, "amd64", arch="amd64")
    mm_images.push_image(registry, repo_name, "arm64", arch="arm64", variant="v8")


def test_a_from_args_push_imports_no_yaml_semver_or_actions_toolkit(registry, repo_name):
    seed(registry, repo_name)
    r = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template",
                f"{registry.host}/{repo_name}:ARCH", "--target", f"{registry.host}/{repo_name}:v1",
                env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert r.code == 0, r.err[-2000:]
    mods = imported(r.err)
    assert {"multiarch_ci.flow.publish", "multiarch_ci.flow.chain", "http.client"} <= mods   # the whole push ran
    assert "urllib3" in mods and "requests" not in mods   # the HTTP engine is urllib3, never requests (wire.py)
    assert "importlib.metadata" not in mods   # urllib3's HTTP/2 package is not initialised (engine_import.py)
    assert {m for m in mods if m.split(".")[0] in NOT_FOR_FROM_ARGS} == set()


def test_a_spec_with_semver_still_imports_yaml_and_semver(registry, repo_name, tmp_path):
    seed(registry, repo_name)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"image": f"{registry.host}/{repo_name}:v1", "manifests": [
        {"image": f"{registry.host}/{repo_name}:{a}"} for a in ("amd64", "arm64")]}))
    r = run_cli("push", "from-spec", str(spec), "--semver", "1.2.3", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert r.code == 0, r.err[-2000:]
    mods = imported(r.err)
    assert {"yaml", "semver"} <= mods and "actions_toolkit" not in mods


# Run the CLI in a subprocess whose socket.connect notes which of our modules were imported (fully) at
# the first connection, and whose import of publish waits (up to 5 s) for that first connection: a push
# that pings ahead connects while publish waits; one that imports publish first never does.
FIRST_CONNECT = r"""
import json, os, socket, sys, threading
first, seen = threading.Event(), {}
real_connect = socket.socket.connect

def connect(self, address):
    if not first.is_set():
        seen["modules"] = sorted(n for n, m in list(sys.modules.items())
                                 if not getattr(getattr(m, "__spec__", None), "_initializing", False))
        first.set()
    return real_connect(self, address)

import builtins
real_import = builtins.__import__

def hold_publish(name, *args, **kwargs):
    # waits before the import machinery runs: a meta-path finder would wait holding the global import
    # lock, and the ping's own lazy imports (encodings.idna for the host name) would wait for it
    if name == "multiarch_ci.flow.publish" and "connected_first" not in seen:
        seen["connected_first"] = first.wait(5)
    return real_import(name, *args, **kwargs)

socket.socket.connect = connect
builtins.__import__ = hold_publish
from multiarch_ci.frontends.cli import main
code = main(sys.argv[1:])
with open(os.environ["MM_SNAPSHOT"], "w") as f:
    json.dump(seen, f)
sys.exit(code)
"""
AFTER_THE_FIRST_REQUEST = {"flow.publish", "flow.chain", "flow.children", "core.compose", "flow.copy_targets",
                           "flow.resolve", "core.update", "core.referrers", "flow.referrers_copy", "layout.stores",
                           "flow.fanout", "frontends.stores", "registry.store"}


def first_connect(tmp_path, *args, stdin=None) -> dict:
    env = mm_registry.loopback_env({"PYTHONPATH": str(ROOT), "DOCKER_CONFIG": str(tmp_path),
                                    "MM_SNAPSHOT": str(tmp_path / "snapshot.json")})
    proc = subprocess.run([sys.executable, "-c", FIRST_CONNECT, *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((tmp_path / "snapshot.json").read_text())


@pytest.mark.parametrize("form", ["from-args", "from-matrix"])
def test_the_first_request_goes_out_before_publish_and_what_only_it_needs_is_imported(registry, repo_name,
                                                                                       tmp_path, form):
    seed(registry, repo_name)
    if form == "from-args":
        args = ["--platforms", "linux/amd64,linux/arm64", "--template", f"{registry.host}/{repo_name}:ARCH"]
    else:
        args = ["-"]
    matrix = json.dumps([{"image": f"{registry.host}/{repo_name}:{a}"} for a in ("amd64", "arm64")])
    seen = first_connect(tmp_path, "push", form, *args, "--target", f"{registry.host}/{repo_name}:v1",
                         stdin=matrix)
    assert seen["connected_first"] is True    # publish was imported after the first connection
    imported = {m.removeprefix("multiarch_ci.") for m in seen["modules"] if m.startswith("multiarch_ci.")}
    assert {"frontends.settings", "registry.connect"} <= imported     # the snapshot is real: the set-up ran
    assert imported & AFTER_THE_FIRST_REQUEST == set()
    # only the request pools need concurrent.futures (and logging with it); no YAML or semver for these forms
    assert {m for m in seen["modules"] if m.split(".")[0] in {"concurrent", "yaml", "semver"}} == set()


def test_a_dry_run_pings_ahead_no_registry_it_would_not_ask(registry, registry2, repo_name):
    """A dry run reads its sources and its first target (to compare); another target only for --semver's
    tags, so that one gets no ping ahead either."""
    seed(registry, repo_name)
    before = len(registry2.request_log())
    r = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template",
                f"{registry.host}/{repo_name}:ARCH", "--target", f"{registry.host}/{repo_name}:v1",
                "--target", f"{registry2.host}/{repo_name}:v1", "--dry-run")
    assert r.code == 0, r.err[-2000:]
    assert "dry run: nothing pushed" in r.err
    time.sleep(0.5)   # the access log is written after each answer
    assert registry2.request_log()[before:] == []


def test_the_action_imports_neither_requests_nor_the_toolkit_s_core(registry, repo_name):
    """The action uses actions-toolkit's command and file-command modules; its `core` imports requests
    for an OIDC helper the action never calls (~30-60 ms at every start, and urllib3 whole, before our
    start-up shim could leave out its HTTP/2 package)."""
    from mm_runner import run_action

    seed(registry, repo_name)
    run = run_action({"sources": "\n".join(f"{registry.host}/{repo_name}:{a}" for a in ("amd64", "arm64")),
                      "target": f"{registry.host}/{repo_name}:v1"},
                     env={"PYTHONPROFILEIMPORTTIME": "1"}, subprocess=True)
    assert run.code == 0, run.err[-2000:]
    assert run.outputs["digest"].startswith("sha256:")
    mods = imported(run.err)
    assert {"actions_toolkit.command", "actions_toolkit.file_command", "urllib3"} <= mods
    assert not {"requests", "actions_toolkit.core", "actions_toolkit.oidc_utils", "importlib.metadata"} & mods
