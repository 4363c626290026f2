"""GitLab CI conventions: CI_REGISTRY credentials and the dotenv report for later jobs.

https://docs.gitlab.com/ee/ci/variables/predefined_variables.html,
https://docs.gitlab.com/ee/ci/yaml/artifacts_reports.html#artifactsreportsdotenv
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

from multiarch_ci.core.errors import InputError, MultiarchError
from multiarch_ci.core.text import clean
from multiarch_ci.registry.auth.credentials import Credential

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:   # the CLI reads the credentials before the first request; publish is imported after it
    from multiarch_ci.flow.publish import Result

# What a dotenv value of ours may hold: refs, digests and space-separated tags. No quote, `#`, `$`,
# backslash or line break, so however GitLab's parser treats quoting, a value is one variable.
_DOTENV_VALUE = re.compile(r"[A-Za-z0-9._:/@\[\] +-]*")


def registry_credentials(environ: Mapping[str, str]) -> dict[str, Credential]:
    """Inside GitLab (GITLAB_CI=true), CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for CI_REGISTRY."""
    if environ.get("GITLAB_CI") != "true":
        return {}
    host, user, password = (environ.get(k, "").strip() for k in ("CI_REGISTRY", "CI_REGISTRY_USER",
                                                                 "CI_REGISTRY_PASSWORD"))
    if not (host and user and password):
        return {}
    return {host: Credential(username=user, password=password,
                             source="GitLab's CI_REGISTRY_USER and CI_REGISTRY_PASSWORD")}


def not_the_action(environ: Mapping[str, str], args: list[str]) -> None:
    """The image's entrypoint runs the GitHub Action: in a GitLab job (GITLAB_CI set; the runner also hands
    the entrypoint its shell) or given arguments, say how to run the command line instead (InputError).
    The arguments are not echoed: they may hold anything, a password included."""
    why = "GITLAB_CI is set" if environ.get("GITLAB_CI") else "arguments were given" if args else ""
    if why:
        raise InputError(f"this image's entrypoint runs the GitHub Action, not the command line ({why})",
                         'in .gitlab-ci.yml write image: {name: IMAGE, entrypoint: [""]} and run '
                         "multiarch-manifest push … in script:; with docker run, give --entrypoint "
                         "multiarch-manifest")


def dotenv_lines(result: Result) -> list[str]:
    """MULTIARCH_PUSHED, then MULTIARCH_DIGEST, MULTIARCH_REF, MULTIARCH_TAGS and MULTIARCH_REFS (every target's
    ref by digest) (full refs, space separated)
    after a real push only: a dry run names nothing that does not exist."""
    if not result.pushed:
        return ["MULTIARCH_PUSHED=false"]
    tags = " ".join(result.tag_refs)
    pairs = (("MULTIARCH_DIGEST", str(result.digest)), ("MULTIARCH_REF", result.ref), ("MULTIARCH_TAGS", tags),
             ("MULTIARCH_REFS", " ".join(result.refs)))
    for key, value in pairs:
        if not _DOTENV_VALUE.fullmatch(value):  # built from validated parts: a hole, never written
            raise MultiarchError(f"dotenv {key}: refusing to write {clean(value)!r}",
                                 "a value may hold letters, digits and . _ : / @ [ ] + - and spaces")
    return ["MULTIARCH_PUSHED=true"] + [f"{key}={value}" for key, value in pairs]


def write_dotenv(path: str, result: Result) -> None:
    """Write the report atomically (a reader never sees half a file)."""
    import tempfile  # after the push only: tempfile and pathlib are not worth their import at every start
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        raise InputError(f"--dotenv {path}: is a directory", "name a file, e.g. merge.env")
    text = "\n".join(dotenv_lines(result)) + "\n"
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=".multiarch-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, target)
