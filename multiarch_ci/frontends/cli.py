"""Command line: argparse -> PushPlan -> Publisher; `main` runs it inside boundary.guarded (exit codes)."""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence

from multiarch_ci.core.errors import CompositionError, InputError, MultiarchError
from multiarch_ci.core.text import is_clean
from multiarch_ci.frontends.boundary import guarded, leave
from multiarch_ci.frontends.cli_help import ABOUT  # noqa: F401  (each command's words, importable from here)
from multiarch_ci.frontends.cli_parser import RUN, build_parser, parse  # noqa: F401  (build_parser: tests)
from multiarch_ci.frontends.labels import CLI_LABELS
from multiarch_ci.frontends.output import Console, inspect_table
from multiarch_ci.frontends.values import labelled

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    import argparse
    from typing import TextIO

# How the CLI names its settings, in messages and errors.setting() alike (unlisted ones are --NAME).
CLI_NAMES = CLI_LABELS.names()


def run() -> None:
    """The console script: `main` with the process's own arguments, then `boundary.leave` (no teardown)."""
    leave(main())


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
        run = RUN.set((stdout, environ))
        try:
            args = parse(argv)
        except SystemExit as e:  # --help and --version
            return int(e.code or 0)
        finally:
            RUN.reset(run)
        console.debug_on = args.debug
        return _dispatch(args, environ, console, stdin)
    return guarded(body, console, debug="--debug" in argv, names=CLI_NAMES)


def _dispatch(args: argparse.Namespace, environ: Mapping[str, str], console: Console, stdin: TextIO) -> int:
    from multiarch_ci.frontends.cli_settings import explicit_credentials, raw_settings
    from multiarch_ci.frontends.settings import build

    explicit = explicit_credentials(args, stdin)
    if args.command == "inspect":
        return _inspect_ref(args, environ, console, explicit)
    settings = build(raw_settings(args, explicit), environ, stdin)
    plans = settings.plans
    for note in settings.notes:
        console.progress(f"note: {note}")
    from multiarch_ci.frontends import gitlab, job

    outcomes = job.push_all(settings, console, environ)
    results = [r for r in outcomes if not isinstance(r, MultiarchError)]
    failures = [(p, e) for p, e in zip(plans, outcomes, strict=True) if isinstance(e, MultiarchError)]
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


def _inspect_ref(args: argparse.Namespace, environ: Mapping[str, str], console: Console, explicit) -> int:
    """`inspect REF`: a layout read in place, or a registry's manifest through a client."""
    from multiarch_ci.core.location import LayoutRef, parse_location
    from multiarch_ci.frontends.values import insecure_list
    from multiarch_ci.registry.connect import connect

    ref = labelled("reference", parse_location, args.ref)
    if isinstance(ref, LayoutRef):   # review a layout (e.g. one written with --target oci-layout://)
        from multiarch_ci.layout.reader import OciLayout
        return _inspect(OciLayout(ref.path), ref, args, console)
    client = connect(insecure_registries=insecure_list(args.insecure_registry, args.insecure, [ref],
                                                       CLI_LABELS.insecure_registry),
                     environ=environ, debug=console.debug, timeout=args.timeout,
                     explicit={ref.registry: explicit} if explicit else None)
    console.secrets = client.auth.secrets
    try:
        return _inspect(client, ref, args, console)
    except MultiarchError as e:
        from multiarch_ci.registry.auth.login_hints import naming_credential
        raise naming_credential(e, client.auth.credentials.lookup) from None


def _inspect(client, ref, args, console: Console) -> int:
    from multiarch_ci.core.model import ImageIndex
    from multiarch_ci.flow.publish import manifest_rows

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
