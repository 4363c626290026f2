"""The CLI's edge to the file system: read spec/matrix files, list a digests folder, read stdin.

Parsing itself is pure (sources.py); this module only fetches text safely and hands it over.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from multiarch_ci.errors import InputError
from multiarch_ci.platform import Platform
from multiarch_ci.reference import ImageRef
from multiarch_ci.registry.credentials import Credential
from multiarch_ci import sources

MAX_INPUT = 1024 * 1024


def read_text(path: str, stdin: TextIO | None = None) -> tuple[str, str]:
    """(text, display name) of a file or '-' for stdin; refuses huge and non-UTF-8 input."""
    if path == "-":
        if stdin is None:
            raise InputError("'-' given but there is no standard input")
        text = stdin.read(MAX_INPUT + 1)
        if len(text) > MAX_INPUT:
            raise InputError(f"<stdin>: larger than {MAX_INPUT} bytes", "is this the right input?")
        return text, "<stdin>"
    p = Path(path)
    try:
        if not p.is_file():
            raise InputError(f"{path}: no such file", "check the path")
        if p.stat().st_size > MAX_INPUT:
            raise InputError(f"{path}: {p.stat().st_size} bytes, larger than the {MAX_INPUT}-byte limit",
                             "is this the right file?")
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return data.decode("utf-8-sig"), path
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x})",
                         "save the file as UTF-8") from None


def list_digests_dir(path: str) -> list[tuple[str, str]]:
    """(name, kind) for each entry; kinds: file, dir, symlink-inside, symlink-outside, other."""
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{path}: not a directory", "give the folder the matrix legs wrote digests into")
    real_root = root.resolve()
    entries = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_symlink():
            target = Path(entry.path).resolve()
            inside = target.parent == real_root and target.is_file()
            entries.append((entry.name, "symlink-inside" if inside else "symlink-outside"))
        elif entry.is_dir():
            entries.append((entry.name, "dir"))
        elif entry.is_file():
            entries.append((entry.name, "file"))
        else:
            entries.append((entry.name, "other"))
    return entries


def image_ref(text: str, what: str) -> ImageRef:
    try:
        return ImageRef.parse(text)
    except InputError as e:
        raise InputError(f"{what}: {e.message}", e.hint) from None


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
    return Credential(username=args.username, password=password, source="--username/--password-stdin")


def plan_from_args(args: argparse.Namespace, stdin: TextIO) -> sources.PushPlan:
    """Build the PushPlan of a `push from-*` command; all input errors surface here, before any request."""
    extra_tags = sources.parse_tags(args.tags)
    annotations = sources.parse_annotations(args.annotation)
    target = image_ref(args.target, "--target") if args.target else None
    if args.form == "from-spec":
        text, name = read_text(args.spec)
        spec = sources.parse_spec(text, name)
        target = target or spec.target
        srcs, extra_tags = spec.sources, spec.tags + extra_tags
        annotations = spec.annotations + annotations
    else:
        if target is None:
            raise InputError(f"push {args.form} needs --target REGISTRY/REPO[:TAG]")
        if args.form == "from-args":
            srcs = sources.sources_from_template(args.platforms, args.template)
        elif args.form == "from-matrix":
            if args.matrix == "-" and args.password_stdin:
                raise InputError("stdin cannot carry both the matrix and the password")
            text, name = read_text(args.matrix, stdin)
            srcs = sources.parse_matrix(text, name)
        else:
            srcs = sources.sources_from_digests(list_digests_dir(args.dir), target.with_tag(None),
                                                args.dir.rstrip("/") or args.dir)
    if args.platform_filter:
        keep = tuple(Platform.parse(p) for p in args.platform_filter.split(",") if p.strip())
        srcs = tuple(replace(s, platform_filter=s.platform_filter + keep) for s in srcs)
    if args.format == "docker" and annotations:
        raise InputError("--annotation needs an OCI index, but --format docker was asked for",
                         "use --format oci (or auto)")
    return sources.make_plan(target, extra_tags, srcs, annotations)
