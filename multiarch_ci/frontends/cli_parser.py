"""The command line's words: argparse declarations for `push FORM` and `inspect`, and `parse(argv)` with the
checks made before argparse sees a word (a password in argv, manifest-tool's global flags, typos)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from contextvars import ContextVar

from multiarch_ci import __version__
from multiarch_ci.core.errors import InputError
from multiarch_ci.frontends.boundary import PROG
from multiarch_ci.frontends.cli_help import about, noting
from multiarch_ci.sources.kinds import KINDS

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import TextIO

# The stdout and environment of the run in this context (main's), for what argparse writes itself (help,
# version) and its line width: argparse would use sys.stdout and os.environ, not main's.
RUN: ContextVar[tuple[TextIO | None, Mapping[str, str]]] = ContextVar("multiarch_cli_run", default=(None, os.environ))


def _common(p: argparse.ArgumentParser, target: str = "required") -> None:
    if target == "required":
        p.add_argument("--target", required=True, action="append",
                       help="the index to push: REGISTRY/REPO[:TAG]; repeat it to push to several targets, each "
                            "getting every tag")
    elif target:
        p.add_argument("--target", action="append", help="the index to push: REGISTRY/REPO[:TAG]; repeatable "
                                                         "(default: the spec's image)")
    p.add_argument("--tags", action="append", default=[], help="more tags for the index (comma separated; repeatable)")
    p.add_argument("--format", "--type", dest="format", default="auto", choices=["auto", "docker", "oci"],
                   help="auto: Docker list when every child is a Docker manifest, else OCI index (--type: "
                        "manifest-tool's spelling; default: %(default)s)")
    p.add_argument("--annotation", "--annotations", dest="annotation", action=_Annotations, default=[],
                   metavar="[LEVEL:]KEY=VALUE",
                   help="an annotation (needs an OCI index; repeatable). LEVEL as buildx writes it: index (the "
                        "default), manifest-descriptor (every entry) or manifest-descriptor[PLATFORM]. "
                        "--annotation is one pair, its value may hold commas; --annotations (manifest-tool's "
                        "spelling) splits a=1,b=2 into two")
    p.add_argument("--platform-filter", action="append", default=[], metavar="PLATFORMS",
                   help="keep only these platforms of index sources (comma separated; repeatable); a single image "
                        "it does not keep is an error")
    p.add_argument("--no-verify-platform", action="store_true",
                   help="trust declared platforms without reading the image configs")
    p.add_argument("--append", action="store_true",
                   help="add/replace platforms in the index the tag holds now, keeping its annotations and media "
                        "type (default: off)")
    p.add_argument("--remove", action="append", default=[], metavar="PLATFORMS",
                   help="drop these platforms (and their attestations) from the index the tag holds now "
                        "(comma separated; repeatable; default: none)")
    p.add_argument("--ignore-missing", action="store_true",
                   help="after --wait-timeout, push what landed and name the sources skipped (default: off)")
    p.add_argument("--require", action="append", default=[], metavar="PLATFORMS",
                   help="these platforms must be in the index or nothing is pushed (comma separated; repeatable; "
                        "default: none): a digests folder missing a leg's file, or a leg --ignore-missing "
                        "skipped, fails the run")
    p.add_argument("--dry-run", action="store_true", help="compose and print the index; push nothing")
    p.add_argument("--wait-timeout", type=_seconds, default=300.0, metavar="SECONDS",
                   help="wait this long for every source to land (pinned digests, stale tags); 0: look once")
    p.add_argument("--dotenv", metavar="FILE", help="write MULTIARCH_PUSHED/DIGEST/REF/TAGS for GitLab's dotenv report")
    p.add_argument("--semver", metavar="VERSION",
                   help="tag VERSION and its floating tags (1.4.2: 1.4, 1, latest), which only move forward")
    p.add_argument("--latest", default="auto", choices=["auto", "always", "never"],
                   help="with --semver: auto moves latest only forward")
    p.add_argument("--no-floating", action="store_true", help="with --semver: the version tag only")
    p.add_argument("--floating-major-zero", action="store_true", help="with --semver 0.x: also move the tag 0")
    p.add_argument("--referrers", default="auto", choices=["auto", "none"],
                   help="auto: signatures, SBOMs and other artifacts that refer to a copied child are copied "
                        "with it; none: skip them")
    p.add_argument("--attestations", default="keep", choices=["keep", "referrers"],
                   help="keep: buildx's attestations stay in the index as unknown/unknown entries; referrers: each "
                        "is written as an OCI referrer of its image and the index holds the platform images only "
                        "(default: keep)")
    p.add_argument("--tags-page-size", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--workers", type=int, default=32, help=argparse.SUPPRESS)  # concurrent requests (bench)
    _connection(p)


class _Annotations(argparse.Action):
    """--annotation appends one KEY=VALUE (buildx's spelling: the value may hold commas); --annotations
    appends each comma separated pair (manifest-tool's spelling), both to the same list in the order given."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])
        if option_string == "--annotations":
            pieces = [v for v in values.split(",") if v.strip()]
            odd = next((v for v in pieces if "=" not in v), None)
            if odd is not None:
                raise InputError(f"--annotations {values!r}: {odd!r} is not KEY=VALUE",
                                 "--annotations splits on commas, as manifest-tool does; for a value holding "
                                 "commas give it with --annotation KEY=VALUE")
            items += pieces
        else:
            items.append(values)
        setattr(namespace, self.dest, items)


def _seconds(text: str) -> float:
    """Raises InputError itself (argparse passes it through): one message with one hint."""
    from multiarch_ci.frontends.values import parse_seconds
    return parse_seconds(text, "--wait-timeout")


def _connection(p: argparse.ArgumentParser, who: str = "the target's registry") -> None:
    p.add_argument("--insecure", action="store_true",
                   help="allow plain HTTP and unverified TLS for the registries named on the command line")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST[:PORT]",
                   help="a registry that may use plain HTTP or unverified TLS (comma separated; repeatable)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up on a registry response after this long (then retry)")
    p.add_argument("--username", help=f"registry user (with --password-stdin) for {who}")
    p.add_argument("--password-stdin", action="store_true", help="read the password or token from stdin")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--debug", action="store_true", help="log each request and show tracebacks (never secrets)")


class _Help(argparse.HelpFormatter):
    """Every option with a value shows its default (flags are off unless given)."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        """Descriptions and epilogs are wrapped, but an indented line (an example command) is kept whole."""
        return "\n".join(line if line.startswith("  ") else super(_Help, self)._fill_text(line, width, indent)
                         for line in text.splitlines())

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, [], "", argparse.SUPPRESS) and "default" not in text \
                and action.option_strings:
            default = f"{action.default:g}" if isinstance(action.default, float) else action.default
            text += f" (default: {default})"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one InputError line (exit 2), like every other bad input.

    No abbreviations: `--tag` must not be answered with the names of hidden options."""

    built: list[_Parser]   # build_parser's top parser: every parser made, for "did you mean"

    def __init__(self, *args, **kw):
        kw.setdefault("allow_abbrev", False)
        kw.setdefault("formatter_class", _Help)
        self.option_names: list[str] = []   # the options --help shows, for "did you mean"
        super().__init__(*args, **kw)

    def add_argument(self, *args, **kw):
        if kw.get("help") is not argparse.SUPPRESS:
            self.option_names += [a for a in args if a.startswith("-")]
        return super().add_argument(*args, **kw)

    def error(self, message: str):
        command = self.prog[len(PROG):].strip()
        raise InputError(f"{command}: {message}" if command else message, f"see {self.prog} --help")

    def _print_message(self, message: str, file=None) -> None:
        stdout = RUN.get()[0]
        super()._print_message(message, stdout if stdout is not None and file in (None, sys.stdout) else file)


def _columns() -> int:
    """shutil.get_terminal_size().columns, as argparse asks it, without importing shutil (bz2, lzma...) at
    every start: every parser builds formatters."""
    stdout, environ = RUN.get()
    try:
        columns = int(environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size((stdout or sys.__stdout__ or sys.stdout).fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser(argv: Sequence[str] | None = None) -> _Parser:
    """With `argv`, only the commands and forms it names (any word equal to their names) get their options:
    argparse reads a subcommand's options only when that subcommand is chosen, so what it prints and
    refuses is the same, and a run does not build the options of the forms it does not use."""
    ap = _Parser(prog=PROG, description="Compose and push multi-arch manifest lists / OCI indexes.")
    ap.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="{push,inspect}", parser_class=_Parser)
    ap.built = []   # every parser made here, for the options "did you mean" may name
    sub.add_parser = noting(sub.add_parser, ap.built)  # type: ignore[method-assign]  # records each parser
    push = sub.add_parser("push", help="compose an index from per-arch images and push it", **about("push"))
    push.add_argument("--type", dest="push_type", choices=["docker", "oci"], default=None,
                      help="manifest-tool's `push --type`: the same as --format after the form")
    names = [k.cli_form for k in KINDS]   # one form per source kind (sources/kinds.py)
    forms = push.add_subparsers(dest="form", required=True, metavar="{" + ",".join(names) + "}", parser_class=_Parser)
    forms.add_parser = noting(forms.add_parser, ap.built)  # type: ignore[method-assign]
    named = set(argv or ()) & {*names, "inspect"}

    def built(name: str) -> bool:
        return argv is None or not named or name in named
    for kind in KINDS:
        p = forms.add_parser(kind.cli_form, help=kind.cli_help, **about(kind.cli_form))
        if built(kind.cli_form):
            for flags, kw in kind.cli_args:
                p.add_argument(*flags, **kw)
            _common(p, target="optional" if kind.gives_target else "required")
    p = sub.add_parser("inspect", help="show an index or image: platform, digest, size, media type",
                       **about("inspect"))
    if not built("inspect"):
        return ap
    p.add_argument("ref", metavar="REF", help="an image or index: REGISTRY/REPO:TAG or REGISTRY/REPO@DIGEST, "
                                              "or oci-layout://PATH[:TAG|@DIGEST]")
    p.add_argument("--raw", action="store_true", help="print the manifest bytes exactly as stored")
    _connection(p, who="REF's registry")
    return ap


def parse(argv: list[str]) -> argparse.Namespace:
    """argv -> the command's settings: a password refused unread, manifest-tool's global flags placed, an
    unknown word answered with the nearest option and the form's --help."""
    from multiarch_ci.frontends.argv_screen import screen, unknown_arguments

    argv = screen(argv)
    ap = build_parser(argv)
    args, extras = ap.parse_known_args(argv)
    if extras:
        command = f"push {args.form}" if args.command == "push" else args.command
        raise unknown_arguments(extras, [n for p in [ap, *ap.built] for n in p.option_names], command)
    return args


