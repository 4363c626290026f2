"""GitLab CI conventions: CI_REGISTRY credentials and the dotenv report for later jobs.

https://docs.gitlab.com/ee/ci/variables/predefined_variables.html,
https://docs.gitlab.com/ee/ci/yaml/artifacts_reports.html#artifactsreportsdotenv
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from multiarch_ci.errors import InputError
from multiarch_ci.publish import Result
from multiarch_ci.registry.credentials import Credential


def registry_credentials(environ: Mapping[str, str]) -> dict[str, Credential]:
    """Inside GitLab (GITLAB_CI=true), CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for CI_REGISTRY."""
    if environ.get("GITLAB_CI") != "true":
        return {}
    host, user, password = (environ.get(k, "").strip() for k in ("CI_REGISTRY", "CI_REGISTRY_USER",
                                                                 "CI_REGISTRY_PASSWORD"))
    if not (host and user and password):
        return {}
    return {host: Credential(username=user, password=password, source="GitLab CI_REGISTRY_USER")}


def dotenv_lines(result: Result) -> list[str]:
    """MULTIARCH_PUSHED, then MULTIARCH_DIGEST, MULTIARCH_REF and MULTIARCH_TAGS (full refs, space separated)
    after a real push only: a dry run names nothing that does not exist."""
    if not result.pushed:
        return ["MULTIARCH_PUSHED=false"]
    tags = " ".join(f"{result.target.name}:{t}" for t in result.tags)
    return ["MULTIARCH_PUSHED=true", f"MULTIARCH_DIGEST={result.digest}", f"MULTIARCH_REF={result.ref}",
            f"MULTIARCH_TAGS={tags}"]


def write_dotenv(path: str, result: Result) -> None:
    """Write the report atomically (a reader never sees half a file)."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"--dotenv {path}: is a directory", "name a file, e.g. merge.env")
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=".multiarch-")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(dotenv_lines(result)) + "\n")
    os.replace(tmp, target)
