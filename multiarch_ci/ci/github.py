"""The GitHub Action: INPUT_* variables -> a push job -> outputs, step summary and annotations.

A docker action gets its inputs as INPUT_<NAME> with the name upper-cased and hyphens kept
(INPUT_DIGESTS-DIR). Outputs go to $GITHUB_OUTPUT through actions_toolkit (heredoc delimiters);
secrets are masked with add-mask before anything is printed.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Mapping

from actions_toolkit import core
from actions_toolkit.command import issue_command

from multiarch_ci.errors import InputError
from multiarch_ci.output import Console
from multiarch_ci.registry.credentials import Credential

FORMS = (("sources", "refs"), ("digests-dir", "digests"), ("matrix", "matrix"), ("spec", "spec"),
         ("template", "template"))


class Inputs:
    """Typed access to the action's inputs, read from the environment mapping given."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def text(self, name: str) -> str:
        return self.environ.get(f"INPUT_{name.upper()}", "").strip()

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.text(name)
        if not value:
            return default
        if value in ("true", "True", "TRUE"):
            return True
        if value in ("false", "False", "FALSE"):
            return False
        raise InputError(f"input {name}: {value!r} is not a boolean", "use true or false")


def source_form(inputs: Inputs):
    """Exactly one of sources, digests-dir, matrix, spec, template (with platforms)."""
    from multiarch_ci.inputs import SourceForm

    given = [(name, kind) for name, kind in FORMS if inputs.text(name)]
    if len(given) != 1:
        names = ", ".join(n for n, _ in FORMS)
        said = ", ".join(n for n, _ in given) or "none"
        raise InputError(f"give exactly one source input of {names} (given: {said})",
                         "e.g. digests-dir: digests (a folder in the workspace), or sources: one image per line")
    name, kind = given[0]
    if kind == "template" and not inputs.text("platforms"):
        raise InputError("input template needs platforms", "e.g. platforms: linux/amd64,linux/arm64")
    if inputs.text("platforms") and kind != "template":
        raise InputError("input platforms goes with template only")
    return SourceForm(kind, inputs.text(name), platforms=inputs.text("platforms"), name=f"input {name}")


def credentials(inputs: Inputs) -> tuple[Credential | None, dict[str, Credential]]:
    """username/password for the target registry; else GITHUB_ACTOR + token for ghcr.io."""
    user, password = inputs.text("username"), inputs.text("password")
    if bool(user) != bool(password):
        raise InputError("inputs username and password go together", "set both, or neither")
    explicit = Credential(username=user, password=password, source="inputs username/password") if user else None
    token, actor = inputs.text("token"), inputs.environ.get("GITHUB_ACTOR", "")
    fallback = {"ghcr.io": Credential(username=actor, password=token, source="input token (GITHUB_ACTOR)")} \
        if token and actor else {}
    return explicit, fallback


def write_outputs(result) -> None:
    images = {row["platform"]: row["digest"] for row in result.to_json()["manifests"] if "attestationFor" not in row}
    core.set_output("digest", str(result.digest))
    core.set_output("ref", result.ref)
    core.set_output("tags", "\n".join(f"{result.target.name}:{t}" for t in result.tags))
    core.set_output("platforms", json.dumps(images))
    core.set_output("media-type", result.index.media_type)
    core.set_output("manifest", result.body.decode().rstrip("\n"))
    core.set_output("held", json.dumps([{"tag": t, "newer": n} for t, n in result.held]))


def summary_markdown(result) -> str:
    """The step summary: one row per entry with its wait, then the tags."""
    waited = dict(result.waited)
    lines = [f"### multiarch-manifest: `{result.ref}`", "",
             f"{result.index.kind}{'' if result.pushed else ' (dry run: nothing pushed)'}", "",
             "| platform | digest | size | waited |", "|---|---|---:|---:|"]
    for row in result.to_json()["manifests"]:
        platform = row["platform"] + (" (attestation)" if "attestationFor" in row else "")
        wait = f"{waited[row['digest']]:.0f} s" if row["digest"] in waited else ""
        lines.append(f"| {platform} | `{row['digest']}` | {row['size']} | {wait} |")
    lines += ["", "**Tags:** " + ", ".join(f"`{result.target.name}:{t}`" for t in result.tags)]
    lines += [f"**Held:** `{t}` stays: {n} is newer" for t, n in result.held]
    lines.append("")
    return "\n".join(lines)


def annotate_error(message: str) -> None:
    """An ::error:: annotation with only a title (no empty file/line properties)."""
    sys.stdout.flush()
    issue_command("error", {"title": "multiarch-manifest"}, message)
    sys.stdout.flush()


def main(environ: Mapping[str, str]) -> int:
    """Entry point of the docker action; returns the exit code (boundary.guarded maps errors)."""
    from multiarch_ci.boundary import guarded

    inputs = Inputs(environ)
    console = Console(sys.stdout, sys.stderr)
    console.debug_on = environ.get("RUNNER_DEBUG") == "1"
    for name in ("password", "token"):
        if inputs.text(name):
            core.set_secret(inputs.text(name))
    return guarded(lambda: _run(inputs, environ, console), console, console.debug_on,
                   report=lambda line: annotate_error(console.mask(line)))


def _run(inputs: Inputs, environ: Mapping[str, str], console: Console) -> int:
    from multiarch_ci import job
    from multiarch_ci.inputs import ACTION_LABELS, TagPolicy, build_plan, parse_seconds
    from multiarch_ci.publish import Options

    explicit, fallback = credentials(inputs)
    secrets = {c.password for c in [explicit, *fallback.values()] if c and c.password}
    console.secrets = lambda: secrets
    fmt = inputs.text("format") or "auto"
    plan = build_plan(source_form(inputs), target=inputs.text("target") or None,
                      tags=[inputs.text("tags")], annotations=inputs.text("annotations").splitlines(),
                      fmt=fmt, labels=ACTION_LABELS, policy=TagPolicy(semver=inputs.text("semver")))
    options = Options(fmt=fmt, dry_run=inputs.flag("dry-run"),
                      wait_timeout=parse_seconds(inputs.text("wait-timeout") or "300", "input wait-timeout"))
    result = job.push(plan, options, console, insecure=inputs.flag("insecure"), environ=environ,
                      explicit=explicit, fallback=fallback)
    write_outputs(result)
    if environ.get("GITHUB_STEP_SUMMARY"):
        with open(environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
            f.write(summary_markdown(result))
    console.out(f"{result.ref}")
    return 0
