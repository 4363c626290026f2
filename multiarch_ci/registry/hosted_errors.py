"""A hosted registry's refusal (status, error code, message, headers) -> a hint naming the fix.

Each rule matches the registry's own wording, so it fires wherever that registry answers
(including behind a mirror or proxy), and cites where the wording comes from.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from multiarch_ci.registry.http.quota import rate_limit
from multiarch_ci.registry.rate_limits import window_text

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from multiarch_ci.registry.http.quota import Headers

Rule = Callable[[int, str, str, "Headers", str], "str | None"]


def _ecr_missing_repository(status, code, message, _headers, _ref):
    """ECR does not create repositories on push: 404 NAME_UNKNOWN "The repository with name 'x'
    does not exist in the registry with id '…'" (actions/starter-workflows#2647, moby/moby#24473)."""
    m = re.search(r"repository with name '([^']+)' does not exist in the registry with id", message)
    if status != 404 or not m:
        return None
    name = m[1]
    uri = "; give the repository's name, not its URI" if "/" in name and "." in name.split("/")[0] else ""
    return (f"Amazon ECR does not create repositories on push: create {name!r} first "
            f"(aws ecr create-repository --repository-name {name}){uri}")


def _ecr_immutable_tag(status, code, message, _headers, _ref):
    """ECR immutable tags: TAG_INVALID "The image tag 'latest' already exists in the 'x' repository and
    cannot be overwritten because the repository is immutable." (aws/containers-roadmap#862)."""
    if code != "TAG_INVALID" or "immutable" not in message.lower():
        return None
    m = re.search(r"image tag '([^']+)'", message)
    tag = repr(m[1]) if m else "this tag"
    return (f"the ECR repository has immutable tags: {tag} already names another image and cannot move, "
            "so floating tags (latest, 1, 1.4) can never move either; push a new version tag, or set the "
            "repository to IMMUTABLE_WITH_EXCLUSION with exclusion filters for the floating tags")


def _ghcr_write_package(status, code, message, _headers, ref):
    """GHCR 403 "denied: permission_denied: write_package" / "installation not allowed to Write
    organization package" (danger/danger-js#1414, tuna-os/tunaOS#642, macbre/push-to-ghcr#31), or a bare
    403 from ghcr.io (int128/docker-manifest-create-action#158); some were transient
    (docker/build-push-action#463)."""
    low = message.lower()
    worded = ("write_package" in low or "not allowed to write organization package" in low
              or "not allowed to create organization package" in low)
    if status != 403 or not (worded or ref.startswith("ghcr.io/")):
        return None
    return ("GHCR refused to write the package: give the job `permissions: packages: write`, and in the "
            "package's settings under 'Manage Actions access' give this repository the Write role (a package "
            "first pushed by hand or from another repository does not grant it); if both are set, GHCR has "
            "also answered passing 403s: rerunning is safe")


def _hub_rate_limit(status, code, message, headers, _ref):
    """Docker Hub 429 TOOMANYREQUESTS with RateLimit-Limit / RateLimit-Remaining: 0;w=21600
    (https://docs.docker.com/docker-hub/usage/pulls/)."""
    if status != 429:
        return None
    rl = rate_limit(headers)
    if rl is None:
        return None
    where = f" for {rl.source}" if rl.source else ""
    return (f"pull rate limit reached{where}: {rl.remaining if rl.remaining is not None else '?'} of "
            f"{rl.limit if rl.limit is not None else '?'} pulls left per {window_text(rl.window)}; log in "
            "(an authenticated or paid Docker account has a higher limit) or rerun once the window "
            f"has passed (at most {window_text(rl.window)})")


def _harbor_project(status, code, message, _headers, _ref):
    """Harbor: "unauthorized to access repository: p/app, action: push" when the project does not exist
    or the account may not push there (goharbor/harbor#13988, #966, #20544)."""
    m = re.search(r"unauthorized to access repository: ([^,]+), action: (\w+)", message)
    if status not in (401, 403) or not m:
        return None
    project = m[1].split("/")[0]
    return (f"Harbor does not create projects on push: the project {project!r} must exist, and the account "
            f"(a robot account is robot$…+name) must have {m[2]} permission on it")


def _header(headers: Headers, name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


def _owner(ref: str) -> str:
    """OWNER in HOST/OWNER/IMAGE[:tag|@digest] (a Gitea repository is OWNER/IMAGE)."""
    parts = ref.split("@")[0].split("/")
    return parts[1] if len(parts) > 2 else parts[0].split(":")[0]


def _gitea_package_write(status, code, message, headers, ref):
    """Gitea/Forgejo's reqPackageAccess: 401, body "reqPackageAccess", WWW-Authenticate: Basic
    realm="Gitea Package API" (routers/api/packages/api.go; go-gitea/gitea#31531, #33732, #32379, #23642)."""
    said = "gitea package api" in _header(headers, "www-authenticate").lower() or "reqpackageaccess" in message.lower()
    if status not in (401, 403) or not said:
        return None
    return (f"Gitea refused to write the package (reqPackageAccess): give the token the write:package scope "
            "(a personal access token with Package: Read and Write; write:repository is not enough, and the "
            f"Actions job token cannot push packages), and give the account write access to the packages of "
            f"{_owner(ref)!r} (for an organisation: a team with Packages write)")


def _nexus_redeploy(status, code, message, _headers, _ref):
    """Nexus "Disable redeploy": 400 BLOB_UPLOAD_INVALID, detail "Repository does not allow updating assets:
    <repository>" (GoogleContainerTools/jib#3057, #2395)."""
    m = re.search(r"Repository does not allow updating assets:? ?\S{0,100}", message)
    if code != "BLOB_UPLOAD_INVALID" or not m:
        return None
    return (f"Nexus says \"{m[0]}\": the hosted repository has the Deployment policy 'Disable redeploy', so a "
            "tag that exists cannot move to another image (what it holds already is left as it is); allow "
            "redeploy on the hosted repository (or allow redeploying the 'latest' tag, if only latest moves), "
            "or push a new tag")


def _nexus_blob_race(status, code, message, _headers, _ref):
    """Nexus "Disable redeploy", two pushes storing one new blob at once: 400 BLOB_UPLOAD_INVALID, detail
    "<repository>/v2/-/blobs/<digest> cannot be updated" (sonatype/nexus-public#967)."""
    m = re.search(r"\S{1,100}/v2/-/blobs/\S{1,100} cannot be updated", message)
    if code != "BLOB_UPLOAD_INVALID" or not m:
        return None
    return (f"Nexus says \"{m[0]}\": with the Deployment policy 'Disable redeploy' it refuses a blob that "
            "another push stored at the same moment (sonatype/nexus-public#967); the blob is in the repository "
            "now, rerunning is safe")


RULES: tuple[Rule, ...] = (_ecr_missing_repository, _ecr_immutable_tag, _ghcr_write_package, _hub_rate_limit,
                           _harbor_project, _gitea_package_write, _nexus_redeploy, _nexus_blob_race)


def hosted_hint(status: int, code: str | None, message: str | None, headers: Headers,
                ref: str = "") -> str | None:
    """The first registry-specific hint for this refusal, or None."""
    for rule in RULES:
        hint = rule(status, code or "", message or "", headers, ref)
        if hint:
            return hint
    return None
