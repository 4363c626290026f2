"""The command line before argparse reads it, and what argparse says about words it does not know.

A password in argv is refused unread and never echoed (`ps`, shell history and CI logs hold argv; CI
masks only the secrets it was told of, not the output of `$(aws ecr get-login-password)`).
manifest-tool's global flags, written where manifest-tool puts them (before `push`), move to where ours
live when their meaning is ours, and are refused naming our replacement when it is not.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from multiarch_ci.core.errors import InputError
from multiarch_ci.frontends.boundary import PROG
from multiarch_ci.sources.kinds import KINDS

FORMS = tuple(kind.cli_form for kind in KINDS)

PASSWORD_HINT = ("pipe it to --password-stdin instead: printf '%s' \"$TOKEN\" | "
                 f"{PROG} push … --username USER --password-stdin")
# manifest-tool's global flags (urfave/cli: -flag and --flag alike) that mean what ours mean: moved after
# the form, where ours are read. The value says whether the flag takes one.
_OURS = {"insecure": False, "debug": False, "username": True}
# ... and those whose meaning is not ours: refused, naming what to use.
_REPLACED = {
    "plain-http": ("--plain-http is manifest-tool's flag",
                   "a loopback registry is reached over plain HTTP without a flag; for another, mark it with "
                   "--insecure-registry HOST[:PORT] (or --insecure: HTTPS first, then plain HTTP, TLS unverified)"),
    "docker-cfg": ("--docker-cfg is manifest-tool's flag",
                   "set DOCKER_CONFIG=DIR, the folder holding config.json, as docker does"),
}
_SECRET_NAME = re.compile(r"pass|token|secret", re.I)


def _name(word: str) -> str:
    """'--password=x' -> 'password'; '-insecure' -> 'insecure'; a word that is no option -> ''."""
    if not word.startswith("-") or word in ("-", "--"):
        return ""
    return word.lstrip("-").partition("=")[0]


def _is_password(word: str) -> bool:
    """--password, --password=…, -password, -p, -p… (docker login's short form, glued or not)."""
    name = _name(word)
    return name == "password" or (word.startswith("-p") and not word.startswith("--"))


def screen(argv: Sequence[str]) -> list[str]:
    """argv as argparse should read it: refuses a password and manifest-tool's flags that are not ours
    (InputError, nothing of their values said); moves manifest-tool's global flags that are ours from
    before the form (`multiarch-manifest --insecure push from-spec …`) to its end."""
    words = list(argv)
    said = next((w for w in words if _is_password(w)), None)
    if said is not None:   # named, never its value: '-pSECRET' is said as -p
        flag = said.partition("=")[0] if _name(said) == "password" else "-p"
        raise InputError(f"{flag}: a password on the command line is not read (ps, shell history and CI logs "
                         "show it)", PASSWORD_HINT)
    for word in words:
        if _name(word) in _REPLACED:
            raise InputError(*_REPLACED[_name(word)])
    form_at = next((i for i, w in enumerate(words) if w in (*FORMS, "inspect")), None)
    if form_at is None:
        return words
    moved: list[str] = []
    kept: list[str] = []
    i = 0
    while i < form_at:
        word, name = words[i], _name(words[i])
        if name in _OURS:
            flag = f"--{name}"
            if _OURS[name] and "=" not in word:   # --username bob: the value travels with it
                moved += [flag, *words[i + 1:i + 2]]
                i += 2
                continue
            moved.append(flag + (f"={word.partition('=')[2]}" if "=" in word else ""))
        else:
            kept.append(word)
        i += 1
    return kept + words[form_at:] + moved


def unknown_words(extras: Sequence[str]) -> str:
    """argparse's unrecognized words, each shown but the value after an option named like a secret."""
    shown: list[str] = []
    hide = False
    for word in extras:
        name = _name(word)
        if hide and not name:
            shown.append("***")
        elif name and _SECRET_NAME.search(name):
            shown.append(word.partition("=")[0] + ("=***" if "=" in word else ""))
        else:
            shown.append(word)
        hide = bool(name) and bool(_SECRET_NAME.search(name)) and "=" not in word
    return " ".join(shown)


def unknown_arguments(extras: Sequence[str], known: Sequence[str], command: str) -> InputError:
    """'push from-args: unrecognized arguments: --tag v1 (hint: did you mean --tags? see … --help)'."""
    import difflib  # on this error only: not worth its import at every start

    options = [k for k in known if k.startswith("--")]
    guesses: list[str] = []
    for word in extras:
        name = word.partition("=")[0]
        if name.startswith("--"):
            longer = [k for k in options if k.startswith(name)]   # --platform: --platform-filter
            near = longer if len(longer) == 1 else difflib.get_close_matches(name, options, n=1, cutoff=0.75)
            guesses += [g for g in near if g not in guesses]
    said = f"did you mean {' or '.join(guesses)}? " if guesses else ""
    where = f"{PROG} {command}".strip()
    return InputError(f"{command + ': ' if command else ''}unrecognized arguments: {unknown_words(extras)}",
                      f"{said}see {where} --help")
