"""The command line's settings as the settings builder takes them: argparse's namespace -> RawSettings,
and the login given with --username and --password-stdin (the password is never taken from argv)."""
from __future__ import annotations

from multiarch_ci.core.errors import InputError
from multiarch_ci.frontends.input_files import MAX_INPUT
from multiarch_ci.frontends.labels import CLI_LABELS
from multiarch_ci.frontends.settings import RawSettings
from multiarch_ci.registry.auth.credentials import Credential
from multiarch_ci.sources.kinds import PATH, by_cli_form

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    import argparse
    from typing import TextIO


def explicit_credentials(args: argparse.Namespace, stdin: TextIO) -> Credential | None:
    """--username with --password-stdin (the password is never taken from argv)."""
    if args.password_stdin and not args.username:
        raise InputError("--password-stdin needs --username")
    if args.username and not args.password_stdin:
        raise InputError("--username needs --password-stdin", "pipe the password: echo $TOKEN | ... --password-stdin")
    if not args.username:
        return None
    password = stdin.read(MAX_INPUT).rstrip("\r\n")
    if not password:
        raise InputError("--password-stdin: standard input was empty")
    return Credential(username=args.username, password=password, source="--username with --password-stdin")


def raw_settings(args: argparse.Namespace, explicit: Credential | None) -> RawSettings:
    """A `push FORM` command's settings: the form's value as the source kind's (sources/kinds.py)."""
    kind = by_cli_form(args.form)
    value = getattr(args, kind.cli_dest)
    # several spec files: a push each; the words of a form that takes several (its sources): one per line
    values = tuple(value) if kind.plan_per_value else ("\n".join(value) if isinstance(value, list) else value,)
    if kind.cli_gives == PATH and "-" in values and args.password_stdin:
        raise InputError(f"stdin cannot carry both the {kind.name} and the password")
    if len(values) > 1 and args.dotenv:
        raise InputError("--dotenv goes with one target; with several spec files use --json")
    companion = getattr(args, kind.companion) if kind.companion else ""
    return RawSettings(
        CLI_LABELS, kind, values, kind.cli_gives,
        companion=",".join(companion) if isinstance(companion, list) else companion,   # repeated: all
        target=args.target, tags=args.tags, annotations=args.annotation, platform_filter=args.platform_filter,
        format=args.push_type or args.format,   # `push --type oci from-spec …`, as manifest-tool writes it
        semver=args.semver or "", latest=args.latest, floating=not args.no_floating,
        major_zero=args.floating_major_zero, verify_platform=not args.no_verify_platform, append=args.append,
        remove=args.remove, require=args.require, ignore_missing=args.ignore_missing, dry_run=args.dry_run,
        wait_timeout=args.wait_timeout, referrers=args.referrers, attestations=args.attestations,
        tags_page_size=args.tags_page_size, workers=args.workers, insecure=args.insecure,
        insecure_registries=args.insecure_registry, timeout=args.timeout, explicit=explicit)
