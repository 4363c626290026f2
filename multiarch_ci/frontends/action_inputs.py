"""The action's inputs as the runner hands them over: which names exist (action.yml's), and enum values.

The runner passes every `with:` key as INPUT_<NAME>, declared or not, and only warns about an unexpected one;
a misspelt source input (`digest-dir`) would then read as "no source given". Here it is named with the
input it resembles. The list is action.yml's inputs (the image holds no action.yml; a test keeps both equal).
"""
from __future__ import annotations

from collections.abc import Mapping

from multiarch_ci.core.errors import InputError

INPUT_NAMES = ("target", "tags", "sources", "digests-dir", "matrix", "spec", "platforms", "template",
               "wait-timeout", "format", "annotations", "username", "password", "token", "insecure",
               "insecure-registries", "dry-run", "ignore-missing", "required-platforms", "referrers", "attestations", "semver")


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


def choice(value: str, name: str, choices: tuple[str, ...], default: str, hint: str | None = None) -> str:
    """An enum input in any case (`format: OCI`), as one of `choices`; empty gives `default`."""
    word = value.strip().lower() or default
    if word not in choices:
        raise InputError(f"input {name}: {value!r} is not one of {', '.join(choices)}", hint)
    return word
