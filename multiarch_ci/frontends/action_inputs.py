"""The action's inputs as the runner hands them over: which names exist (action.yml's), and which source
input was given (one of the source kinds' inputs, sources/kinds.py).

The runner passes every `with:` key as INPUT_<NAME>, declared or not, and only warns about an unexpected one;
a misspelt source input (`digest-dir`) would then read as "no source given". Here it is named with the
input it resembles. The list is action.yml's inputs (the image holds no action.yml; a test keeps both equal).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from multiarch_ci.core.errors import InputError
from multiarch_ci.sources.kinds import FOLDER, KINDS, SourceKind

# Each source kind's input (after its companion: platforms, template), then the settings every kind shares.
SOURCE_INPUTS = tuple(name for k in KINDS for name in (k.companion, k.action_input) if name)
INPUT_NAMES = ("target", "tags", *SOURCE_INPUTS, "wait-timeout", "format", "annotations", "username",
               "password", "token", "insecure", "insecure-registries", "dry-run", "ignore-missing",
               "required-platforms", "referrers", "attestations", "semver")


def check_names(environ: Mapping[str, str]) -> None:
    """An INPUT_* variable that names no input of the action is bad input, named with the nearest input."""
    known = {n.upper().replace(" ", "_") for n in INPUT_NAMES}
    for key in sorted(environ):
        if not key.startswith("INPUT_") or key[len("INPUT_"):] in known:
            continue
        import difflib  # on this error only: not worth its import at every start

        name = key[len("INPUT_"):].lower()
        near = difflib.get_close_matches(name, INPUT_NAMES, n=1, cutoff=0.6)
        raise InputError(f"input {name} is not an input of this action",
                         f"did you mean {near[0]}?" if near else f"its inputs: {', '.join(INPUT_NAMES)}")


def source_input(text: Callable[[str], str], environ: Mapping[str, str]) -> SourceKind:
    """The source kind whose input was given (exactly one of them), with its companion input if it has one."""
    given = [k for k in KINDS if text(k.action_input)]
    if len(given) != 1:
        names = ", ".join(k.action_input for k in KINDS)
        said = ", ".join(k.action_input for k in given) or "none"
        raise InputError(f"give exactly one source input of {names} (given: {said})",
                         "e.g. digests-dir: digests (a folder in the workspace), or sources: one image per line")
    kind = given[0]
    if kind.companion and not text(kind.companion):
        raise InputError(f"input {kind.action_input} needs {kind.companion}", kind.companion_hint or None)
    for companion in dict.fromkeys(k.companion for k in KINDS if k.companion and k.companion != kind.companion):
        if text(companion):
            owners = " or ".join(k.action_input for k in KINDS if k.companion == companion)
            raise InputError(f"input {companion} goes with {owners} only")
    if kind.action_gives == FOLDER and not os.path.isdir(text(kind.action_input)):
        workspace = environ.get("GITHUB_WORKSPACE", "")
        raise InputError(f"input {kind.action_input} {text(kind.action_input)}: not a directory in the workspace"
                         + (f" ({workspace})" if workspace else ""),
                         "a container action sees only the workspace: download the digests into it, "
                         f"e.g. path: digests, and give {kind.action_input}: digests")
    return kind
