"""One setting's value from the text a front end read: a flag, one of a few words, seconds, platforms,
the registries that may go without verified TLS.
Each error names the setting as the front end does (its label: --wait-timeout, input wait-timeout)."""
from __future__ import annotations

from collections.abc import Sequence

from multiarch_ci.core.errors import InputError
from multiarch_ci.core.location import LayoutRef, registry_of
from multiarch_ci.core.plan import split_items
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef


def labelled(label: str, fn, *args):
    """Call fn; an InputError it raises is prefixed with the setting it came from."""
    try:
        return fn(*args)
    except InputError as e:
        if e.message.startswith(label):
            raise
        raise InputError(f"{label}: {e.message}", e.hint) from None


def flag(value: bool | str, label: str) -> bool:
    """A boolean: a front end's own (the CLI's), or true/false in the action's three spellings; empty: false."""
    if isinstance(value, bool):
        return value
    text = value.strip()
    if not text:
        return False
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    raise InputError(f"{label}: {text!r} is not a boolean", "use true or false")


def one_of(value: str, label: str, choices: tuple[str, ...], default: str, hint: str | None = None) -> str:
    """An enum setting in any case (`format: OCI`), as one of `choices`; empty gives `default`."""
    word = value.strip().lower() or default
    if word not in choices:
        raise InputError(f"{label}: {value!r} is not one of {', '.join(choices)}", hint)
    return word


def parse_seconds(text: str, what: str = "") -> float:
    """A wait in seconds, 0 to 86400."""
    try:
        value = float(str(text).strip())
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise InputError(f"{what + ': ' if what else ''}{text!r} is not a number of seconds from 0 to 86400",
                         "e.g. 300; 0 looks once")
    return value


def platform_list(text: str | Sequence[str], label: str) -> tuple[Platform, ...]:
    """--remove / --require / --platform-filter: platforms split on commas and newlines (the option repeated:
    a list, each item split), each once."""
    out: list[Platform] = []
    for part in split_items(text or []):
        p = labelled(label, Platform.parse, part)
        if not any(p.same_as(q) for q in out):
            out.append(p)
    return tuple(out)


def insecure_list(given: str | Sequence[str], insecure: bool, refs: Sequence[ImageRef | LayoutRef],
                  label: str) -> tuple[str, ...]:
    """The registries that may use plain HTTP or unverified TLS: those named (comma or newline separated),
    and with `insecure` (docker's --insecure) every registry the run's references name, sources and
    targets; never a host met later (a redirect or a token realm)."""
    from multiarch_ci.registry.http.hosts import parse_insecure

    named = [parse_insecure(item, label) for item in split_items(given)]
    if insecure:
        named += sorted({r for ref in refs if (r := registry_of(ref))})   # a layout names none
    return tuple(dict.fromkeys(named))
