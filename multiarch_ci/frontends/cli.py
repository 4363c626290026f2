"""Command line: argparse -> PushPlan -> Publisher; `main` runs it inside boundary.guarded (exit codes)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from contextvars import ContextVar

from multiarch_ci import __version__
from multiarch_ci.frontends.boundary import PROG, guarded  # noqa: F401  (cli.guarded stays importable)
from multiarch_ci.core.errors import CompositionError, InputError, MultiarchError
from multiarch_ci.frontends.output import Console, inspect_table
from multiarch_ci.core.text import is_clean

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import TextIO

# How the CLI names the settings errors mention (errors.setting); unlisted ones are --NAME.
CLI_NAMES = {"platform-filter": "--platform-filter or the entry's platforms"}
# The stdout and environment of the run in this context (main's), for what argparse writes itself (help,
# version) and its line width: argparse would use sys.stdout and os.environ, not main's.
_RUN: ContextVar[tuple[TextIO | None, Mapping[str, str]]] = ContextVar("multiarch_cli_run", default=(None, os.environ))


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
    p.add_argument("--annotation", "--annotations", dest="annotation", action="append", default=[],
                   metavar="KEY=VALUE", help="index annotation (needs an OCI index; repeatable; --annotations: "
                                             "manifest-tool's spelling)")
    p.add_argument("--platform-filter", default="", metavar="PLATFORMS",
                   help="keep only these platforms of index sources (comma separated); a single image "
                        "it does not keep is an error")
    p.add_argument("--no-verify-platform", action="store_true",
                   help="trust declared platforms without reading the image configs")
    p.add_argument("--append", action="store_true",
                   help="add/replace platforms in the index the tag holds now, keeping its annotations and media "
                        "type (default: off)")
    p.add_argument("--remove", default="", metavar="PLATFORMS",
                   help="drop these platforms (and their attestations) from the index the tag holds now "
                        "(comma separated; default: none)")
    p.add_argument("--ignore-missing", action="store_true",
                   help="after --wait-timeout, push what landed and name the sources skipped (default: off)")
    p.add_argument("--require", default="", metavar="PLATFORMS",
                   help="with --ignore-missing: these platforms must land or nothing is pushed "
                        "(comma separated; default: none)")
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
    p.add_argument("--tags-page-size", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--workers", type=int, default=32, help=argparse.SUPPRESS)  # concurrent requests (bench)
    _connection(p)


def _seconds(text: str) -> float:
    """Raises InputError itself (argparse passes it through): one message with one hint."""
    from multiarch_ci.frontends.settings import parse_seconds
    return parse_seconds(text, "--wait-timeout")


def _connection(p: argparse.ArgumentParser, who: str = "the target's registry") -> None:
    p.add_argument("--insecure", action="store_true",
                   help="allow plain HTTP and unverified TLS for the registries named on the command line")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST[:PORT]",
                   help="a registry that may use plain HTTP or unverified TLS (repeatable)")
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

    def __init__(self, *args, **kw):
        kw.setdefault("allow_abbrev", False)
        kw.setdefault("formatter_class", _Help)
        super().__init__(*args, **kw)

    def error(self, message: str):
        command = self.prog[len(PROG):].strip()
        raise InputError(f"{command}: {message}" if command else message, f"see {self.prog} --help")

    def _print_message(self, message: str, file=None) -> None:
        stdout = _RUN.get()[0]
        super()._print_message(message, stdout if stdout is not None and file in (None, sys.stdout) else file)


def _columns() -> int:
    """shutil.get_terminal_size().columns, as argparse asks it, without importing shutil (bz2, lzma...) at
    every start: every parser builds formatters."""
    stdout, environ = _RUN.get()
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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """With `argv`, only the commands and forms it names (any word equal to their names) get their options:
    argparse reads a subcommand's options only when that subcommand is chosen, so what it prints and
    refuses is the same, and a run does not build the options of the forms it does not use."""
    ap = _Parser(prog=PROG, description="Compose and push multi-arch manifest lists / OCI indexes.")
    ap.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="{push,inspect}", parser_class=_Parser)
    push = sub.add_parser("push", help="compose an index from per-arch images and push it")
    push.add_argument("--type", dest="push_type", choices=["docker", "oci"], default=None,
                      help="manifest-tool's `push --type`: the same as --format after the form")
    forms = push.add_subparsers(dest="form", required=True, metavar="{from-spec,from-args,from-matrix,from-digests}",
                                parser_class=_Parser)
    named = set(argv or ()) & {"from-spec", "from-args", "from-matrix", "from-digests", "inspect"}

    def built(name: str) -> bool:
        return argv is None or not named or name in named
    p = forms.add_parser("from-spec", help="a manifest-tool style YAML spec (several: one run, one pool)")
    if built("from-spec"):
        p.add_argument("spec", nargs="+", help="SPEC.yaml [SPEC.yaml ...]")
        _common(p, target="optional")
    p = forms.add_parser("from-args", help="--platforms and a --template with OS/ARCH/VARIANT placeholders")
    if built("from-args"):
        p.add_argument("--platforms", required=True, help="e.g. linux/amd64,linux/arm64/v8")
        p.add_argument("--template", required=True, help="e.g. REG/app:v1-ARCHVARIANT")
        _common(p)
    p = forms.add_parser("from-matrix", help="JSON/YAML list of {image, digest?, platform?} ('-' for stdin)")
    if built("from-matrix"):
        p.add_argument("matrix", help="FILE or -")
        _common(p)
    p = forms.add_parser("from-digests", help="a folder of files named by per-arch manifest digests")
    if built("from-digests"):
        p.add_argument("dir", help="DIR of empty files named <hex digest>")
        _common(p)
    p = sub.add_parser("inspect", help="show an index or image: platform, digest, size, media type")
    if not built("inspect"):
        return ap
    p.add_argument("ref", metavar="REF", help="an image or index: REGISTRY/REPO:TAG or REGISTRY/REPO@DIGEST, "
                                              "or oci-layout://PATH[:TAG|@DIGEST]")
    p.add_argument("--raw", action="store_true", help="print the manifest bytes exactly as stored")
    _connection(p, who="REF's registry")
    return ap


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None, *,
         stdin: TextIO | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code. Everything a run reads and writes comes from the arguments
    (default: sys.argv, os.environ, sys.stdin/stdout/stderr), so it can also run in-process."""
    environ = os.environ if environ is None else environ
    argv = list(sys.argv[1:] if argv is None else argv)
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    console = Console(stdout, sys.stderr if stderr is None else stderr)

    def body() -> int:
        run = _RUN.set((stdout, environ))
        try:
            args = build_parser(argv).parse_args(argv)
        except SystemExit as e:  # --help and --version
            return int(e.code or 0)
        finally:
            _RUN.reset(run)
        console.debug_on = args.debug
        return _dispatch(args, environ, console, stdin)
    return guarded(body, console, debug="--debug" in argv, names=CLI_NAMES)


def _dispatch(args: argparse.Namespace, environ: Mapping[str, str], console: Console,
              stdin: TextIO | None = None) -> int:
    from multiarch_ci.frontends import settings as inputs

    if getattr(args, "push_type", None):  # `push --type oci from-spec ...`, as manifest-tool writes it
        args.format = args.push_type
    stdin = sys.stdin if stdin is None else stdin
    explicit = inputs.explicit_credentials(args, stdin)
    if args.command == "inspect":
        from multiarch_ci.registry.connect import connect

        from multiarch_ci.core.location import LayoutRef, parse_location

        ref = inputs.labelled("reference", parse_location, args.ref)
        if isinstance(ref, LayoutRef):   # review a layout (e.g. one written with --target oci-layout://)
            from multiarch_ci.layout.reader import OciLayout
            return _inspect(OciLayout(ref.path), ref, args, console)
        named = [ref.registry] if args.insecure else []
        client = connect(insecure_registries=[*args.insecure_registry, *named], environ=environ,
                         debug=console.debug, timeout=args.timeout,
                         explicit={ref.registry: explicit} if explicit else None)
        console.secrets = client.auth.secrets
        return _inspect(client, ref, args, console)
    plans = inputs.plans_from_args(args, stdin)
    for note in dict.fromkeys(n for p in plans for n in p.notes):
        console.progress(f"note: {note}")
    from multiarch_ci.frontends import job
    from multiarch_ci.frontends import gitlab
    from multiarch_ci.core.options import Options

    options = Options(fmt=args.format, verify_platform=not args.no_verify_platform, append=args.append,
                      dry_run=args.dry_run, wait_timeout=args.wait_timeout, tags_page_size=args.tags_page_size,
                      workers=max(1, min(64, args.workers)), ignore_missing=args.ignore_missing,
                      required=inputs.platform_list(args.require, "--require"),
                      remove=inputs.platform_list(args.remove, "--remove"), referrers=args.referrers)
    outcomes = job.push_all(plans, options, console, insecure=args.insecure, environ=environ, explicit=explicit,
                            fallback=gitlab.registry_credentials(environ), timeout=args.timeout,
                            insecure_registries=args.insecure_registry)
    results = [r for r in outcomes if not isinstance(r, MultiarchError)]
    failures = [(p, e) for p, e in zip(plans, outcomes) if isinstance(e, MultiarchError)]
    if len(plans) == 1 and failures:
        raise failures[0][1]
    if args.dotenv and results:
        gitlab.write_dotenv(args.dotenv, results[0])
    if args.json:
        docs = [r.to_json() for r in results]
        console.out(json.dumps(docs[0] if len(plans) == 1 else docs, indent=2))
    for result in [] if args.json else results:
        if args.dry_run:
            console.out(result.body.decode().rstrip())
            console.progress(f"dry run: nothing pushed (would have pushed {result.ref})")
        else:
            console.out(inspect_table(result.to_json()["manifests"]))
            console.out("\n".join(result.refs))   # one line per target, the first first
    if failures:
        raise MultiarchError(f"{len(failures)} of {len(plans)} pushes failed: " + "; ".join(
            f"{p.target.name}:{p.tags[0]}: {e}" for p, e in failures), "the others were pushed; rerunning is safe")
    return 0


def _inspect(client, ref, args, console: Console) -> int:
    from multiarch_ci.flow.publish import manifest_rows
    from multiarch_ci.core.model import ImageIndex

    fetched = client.get_manifest(ref)
    if args.raw:
        if not is_clean(fetched.body.decode("utf-8", "replace")):  # exact bytes or nothing, never escaped
            raise CompositionError(f"inspect {ref}: the manifest holds control characters or workflow-command "
                                   "text, so it is not printed raw", "use --json to see its entries escaped")
        console.raw(fetched.body)
        return 0
    if isinstance(fetched.manifest, ImageIndex):
        rows = manifest_rows(fetched.manifest)
    else:
        from multiarch_ci.core.platform import Platform
        raw = client.get_blob(ref.with_tag(None), fetched.manifest.config)
        try:
            platform = str(Platform.from_dict(json.loads(raw)))
        except (InputError, ValueError, RecursionError):  # registry data: shown as unknown, never echoed
            platform = "unknown/unknown"
        rows = [{"platform": platform, "digest": str(fetched.digest), "mediaType": fetched.media_type,
                 "size": len(fetched.body)}]
    if args.json:
        console.out(json.dumps({"ref": f"{ref.name}@{fetched.digest}", "digest": str(fetched.digest),
                                "mediaType": fetched.media_type, "manifests": rows}, indent=2))
    else:
        console.out(f"{ref.name}@{fetched.digest}  {fetched.media_type}")
        console.out(inspect_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
