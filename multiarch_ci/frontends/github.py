"""The GitHub Action: INPUT_* variables -> a push job -> outputs, step summary and annotations.

A docker action gets its inputs as INPUT_<NAME> with the name upper-cased and hyphens kept
(INPUT_DIGESTS-DIR). Outputs go to $GITHUB_OUTPUT through actions_toolkit (heredoc delimiters);
secrets are masked with add-mask before anything is printed.

Workflow commands from outside text: we ESCAPE (multiarch_ci/text.py), we do not use
`::stop-commands::<token>`. Escaping is stateless and per line, so it holds on stdout and stderr
alike (the runner reads both pipes and does not order one against the other, so a stop/resume pair
on stdout cannot be trusted to cover a stderr line), it needs no resume before our own ::error::
annotation, and the same function serves the CLI and GitLab logs (ANSI escapes, section markers).
Only this module writes commands (add-mask, the ::error:: annotation), through actions_toolkit,
whose escaping keeps each on one line.

GITHUB_OUTPUT: actions_toolkit writes `name<<ghadelimiter_<uuid4>` with a fresh random delimiter per
output and refuses a value containing it, so a value cannot close its heredoc early without
guessing 122 random bits; a value holding a CR or any other control character is refused and the
single-line ones must hold no newline, so the runner's line split sees exactly our lines.

actions-toolkit is the `action` extra (`pip install .[action]`; the image installs it): a CLI user does
not need it, so it is imported only when the action runs.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from multiarch_ci.core.errors import InputError, MultiarchError
from multiarch_ci.core.text import clean, escape_controls, md_cell
from multiarch_ci.frontends.labels import ACTION_LABELS
from multiarch_ci.frontends.output import Console
from multiarch_ci.registry.auth.credentials import Credential

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from multiarch_ci.frontends.settings import RawSettings

# How the action names its settings, in messages and errors.setting() alike: its inputs, not CLI flags.
ACTION_NAMES = ACTION_LABELS.names()


class Toolkit:
    """The two things the action asks of actions-toolkit, from its `command` and `file_command` modules:
    masking (`::add-mask::`) and outputs (GITHUB_OUTPUT heredocs with a fresh delimiter each), as its
    `core.set_secret` and `core.set_output` do. Not `actions_toolkit.core` itself: it imports requests
    for its OIDC helper, which this action never calls (30-60 ms at every start, and urllib3 before our
    start-up shim, registry/http/engine_import.py, could skip its HTTP/2 package)."""

    def __init__(self, command, file_command):
        self.command, self.file_command = command, file_command

    def set_secret(self, secret: str) -> None:
        self.command.issue_command("add-mask", {}, secret)

    def set_output(self, name: str, value: str) -> None:
        if os.environ.get("GITHUB_OUTPUT"):   # the toolkit's file command reads it there too
            self.file_command.issue_file_command("OUTPUT", self.file_command.prepare_key_value_message(name, value))
        else:   # a runner before GITHUB_OUTPUT: the old command, as core.set_output falls back to
            sys.stdout.write(os.linesep)
            self.command.issue_command("set-output", {"name": name}, value)


def toolkit() -> Toolkit:
    """actions-toolkit's commands, or a clear error when the `action` extra is not installed."""
    try:
        from actions_toolkit import command, file_command
    except ImportError:
        raise InputError("the GitHub Action needs the actions-toolkit package, which is not installed",
                         "pip install 'multiarch-manifest[action]' (the action's image has it)") from None
    return Toolkit(command, file_command)


class Inputs:
    """Typed access to the action's inputs, read from the environment mapping given."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def text(self, name: str) -> str:
        return self.environ.get(f"INPUT_{name.upper()}", "").strip()


def credentials(inputs: Inputs) -> tuple[Credential | None, dict[str, Credential]]:
    """username/password for the target registry; else GITHUB_ACTOR + token for ghcr.io."""
    user, password = inputs.text("username"), inputs.text("password")
    if bool(user) != bool(password):
        raise InputError("inputs username and password go together", "set both, or neither")
    explicit = Credential(username=user, password=password,
                          source="the action's inputs username and password") if user else None
    token, actor = inputs.text("token"), inputs.environ.get("GITHUB_ACTOR", "")
    fallback = {"ghcr.io": Credential(username=actor, password=token,
                                      source="the action's input token (as GITHUB_ACTOR)")} \
        if token and actor else {}
    return explicit, fallback


MULTILINE_OUTPUTS = ("tags", "manifest", "refs")


def set_output(name: str, value: str) -> None:
    """One output; only `tags`, `refs` and `manifest` may span lines (see the module docstring)."""
    escaped = escape_controls(value, "\n" if name in MULTILINE_OUTPUTS else "")
    if escaped != value:  # every value is built from validated parts: this is a bug or a hole, not input
        raise MultiarchError(f"output {name}: refusing to write a value holding a control character: "
                             f"{escaped[:200]}")
    toolkit().set_output(name, value)


def write_outputs(result) -> None:
    """Every output; in a dry run digest, ref and tags are empty (they would name nothing that exists)
    and `pushed` is false, while `manifest` and `planned-digest` carry what would have been pushed."""
    images = {row["platform"]: row["digest"] for row in result.to_json()["manifests"] if "attestationFor" not in row}
    set_output("pushed", "true" if result.pushed else "false")
    set_output("planned-digest", str(result.digest))
    set_output("digest", str(result.digest) if result.pushed else "")
    set_output("ref", result.ref if result.pushed else "")
    set_output("refs", "\n".join(result.refs) if result.pushed else "")   # one per target (target: one per line)
    set_output("tags", "\n".join(result.tag_refs) if result.pushed else "")
    set_output("referrers", json.dumps(list(result.referrers)))
    set_output("platforms", json.dumps(images))
    set_output("media-type", result.index.media_type)
    set_output("manifest", result.body.decode().rstrip("\n"))
    set_output("held", json.dumps([{"tag": t, "newer": n} for t, n in result.held]))
    set_output("missing", json.dumps(list(result.missing)))


def summary_markdown(result) -> str:
    """The step summary: one row per entry with its wait, then the tags; every cell escaped."""
    waited = dict(result.waited)
    head = f"`{md_cell(result.ref)}`" if result.pushed else f"dry run, would push `{md_cell(result.ref)}`"
    lines = [f"### multiarch-manifest: {head}", "",
             f"{result.index.kind}{'' if result.pushed else ' (dry run: nothing pushed)'}", "",
             "| platform | digest | size | waited |", "|---|---|---:|---:|"]
    for row in result.to_json()["manifests"]:
        platform = row["platform"] + (" (attestation)" if "attestationFor" in row else "")
        wait = f"{waited[row['digest']]:.0f} s" if row["digest"] in waited else ""
        lines.append(f"| {md_cell(platform)} | `{md_cell(row['digest'])}` | {md_cell(row['size'])} | {wait} |")
    lines += ["", "**Tags:** " + ", ".join(f"`{md_cell(t)}`" for t in result.tag_refs)]
    lines += [f"**Also pushed to:** `{md_cell(r)}`" for r in result.refs[1:] if result.pushed]
    lines += [f"**{'Attestation written as referrer' if r.get('attestation') else 'Referrer copied'}:** "
              f"`{md_cell(r['digest'])}` ({md_cell(r['artifactType'] or r['tag'] or '')}) "
              f"of `{md_cell(r['subject'])}`" for r in result.referrers]
    lines += [f"**Held:** `{md_cell(t)}` stays: {md_cell(n)} is newer" for t, n in result.held]
    lines += [f"**Skipped (ignore-missing):** `{md_cell(m)}` did not land" for m in result.missing]
    lines.append("")
    return "\n".join(lines)


def failure_markdown(message: str) -> str:
    """The step summary of a failed run: what failed, in the words of the ::error:: annotation."""
    return f"### multiarch-manifest: failed\n\n{message}\n\nNothing was tagged.\n"


def append_summary(environ: Mapping[str, str], markdown: str) -> None:
    if environ.get("GITHUB_STEP_SUMMARY"):
        with open(environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
            f.write(markdown)


def annotate_error(message: str, kind: str = "error") -> None:
    """An ::error:: (or ::warning::) annotation with only a title (no empty file/line properties)."""
    try:
        from actions_toolkit.command import issue_command
    except ImportError:  # the `action` extra is missing: still one ::error:: line
        issue_command = None
    sys.stdout.flush()
    if issue_command:
        issue_command(kind, {"title": "multiarch-manifest"}, clean(message))
    else:
        escaped = clean(message).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::{kind} title=multiarch-manifest::{escaped}")
    sys.stdout.flush()


def annotate_warning(message: str) -> None:
    """A ::warning:: annotation: what the run left out or could not do (a skipped source, a referrer)."""
    annotate_error(message, "warning")


def main(environ: Mapping[str, str]) -> int:
    """Entry point of the docker action; returns the exit code (boundary.guarded maps errors)."""
    from multiarch_ci.frontends.action_inputs import check_names
    from multiarch_ci.frontends.boundary import guarded

    inputs = Inputs(environ)
    console = Console(sys.stdout, sys.stderr)
    console.debug_on = environ.get("RUNNER_DEBUG") == "1"

    def report(line: str) -> None:
        annotate_error(console.mask(line))
        append_summary(environ, failure_markdown(console.mask(line)))

    def run() -> int:
        core = toolkit()
        for name in ("password", "token"):
            secret = inputs.text(name)
            # a multi-line secret (a GAR JSON key) is masked whole and line by line: the runner matches
            # masks within single log lines, so the whole value alone would never match
            for part in dict.fromkeys([secret, *(line.strip() for line in secret.splitlines())]):
                if len(part) >= 4:
                    core.set_secret(part)
        check_names(environ)
        console.names, console.on_warning = ACTION_NAMES, annotate_warning
        return _run(inputs, environ, console)
    return guarded(run, console, console.debug_on, report=report, names=ACTION_NAMES)


def raw_settings(inputs: Inputs) -> RawSettings:
    """The action's inputs as the settings builder takes them: text as given, named as inputs."""
    from multiarch_ci.frontends.action_inputs import source_input
    from multiarch_ci.frontends.settings import RawSettings

    explicit, fallback = credentials(inputs)
    kind = source_input(inputs.text, inputs.environ)
    return RawSettings(
        ACTION_LABELS, kind, (inputs.text(kind.action_input),), kind.action_gives,
        origin=f"input {kind.action_input}", companion=inputs.text(kind.companion) if kind.companion else "",
        target=inputs.text("target") or None,   # several: one per line
        tags=[inputs.text("tags")], annotations=inputs.text("annotations").splitlines(), format=inputs.text("format"),
        semver=inputs.text("semver"), require=inputs.text("required-platforms"),
        ignore_missing=inputs.text("ignore-missing"), dry_run=inputs.text("dry-run"),
        wait_timeout=inputs.text("wait-timeout"), referrers=inputs.text("referrers"),
        attestations=inputs.text("attestations"), insecure=inputs.text("insecure"),
        insecure_registries=inputs.text("insecure-registries"), explicit=explicit, fallback=fallback)


def _run(inputs: Inputs, environ: Mapping[str, str], console: Console) -> int:
    from multiarch_ci.frontends import job
    from multiarch_ci.frontends.settings import build

    raw = raw_settings(inputs)
    secrets = {c.password for c in [raw.explicit, *raw.fallback.values()] if c and c.password}
    console.secrets = lambda: secrets
    settings = build(raw, environ)
    for note in settings.notes:
        console.progress(f"note: {note}")
    result = job.push_all(settings, console, environ)[0]
    if isinstance(result, MultiarchError):
        raise result
    write_outputs(result)
    append_summary(environ, summary_markdown(result))
    if not result.pushed:
        console.out(result.body.decode().rstrip())
        console.out(f"dry run: nothing pushed (would have pushed {result.ref})")
        return 0
    console.out("\n".join(result.refs))
    return 0
