"""Run independent registry CLIs (skopeo, docker) against a :class:`RunningRegistry`.

TLS trust:

* skopeo verifies certificates; for an HTTPS registry it gets ``--cert-dir`` pointing at a temp
  dir holding ``ca.crt`` (a copy of ``reg.ca_file``); for plain HTTP ``--tls-verify=false``.
* ``docker manifest inspect`` treats every loopback registry (127.0.0.0/8, localhost) as an
  "insecure registry": it never verifies TLS there and never reads ``/etc/docker/certs.d``.  HTTPS
  works as is; plain HTTP additionally needs ``--insecure`` (else it skips http endpoints).

Credentials go to skopeo as ``--creds`` and to docker through a throw-away ``DOCKER_CONFIG`` dir.
Both helpers raise AssertionError carrying the tool's stderr when it fails.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from mm_registry import RunningRegistry, loopback_env

TIMEOUT = 60


def _run(cmd: list[str], env: dict | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                          env=loopback_env(env), stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def _docker_ref(ref: str) -> str:
    return ref if ref.startswith("docker://") else "docker://" + ref


def skopeo_inspect(reg: RunningRegistry, ref: str, raw: bool = True, override_os: str | None = None,
                   override_arch: str | None = None, override_variant: str | None = None) -> dict:
    """``skopeo inspect [--raw] REF`` as parsed JSON; ``ref`` is ``HOST/REPO:TAG|@DIGEST``.

    With ``raw`` the registry's manifest bytes are returned (parsed); without it skopeo resolves a
    list to one platform (``override_*`` choose which) and reports the image summary.
    """
    cmd = ["skopeo"]
    for flag, value in (("--override-os", override_os), ("--override-arch", override_arch),
                        ("--override-variant", override_variant)):
        if value:
            cmd += [flag, value]
    cmd.append("inspect")
    if raw:
        cmd.append("--raw")
    if reg.username:
        cmd += ["--creds", f"{reg.username}:{reg.password}"]
    with tempfile.TemporaryDirectory(prefix="mm-skopeo-") as tmp:
        # an empty auth file keeps skopeo away from any ambient auth.json
        (Path(tmp) / "auth.json").write_text("{}")
        cmd += ["--authfile", str(Path(tmp) / "auth.json")]
        if reg.scheme == "https":
            cert_dir = Path(tmp) / "certs"
            cert_dir.mkdir()
            shutil.copyfile(reg.ca_file, cert_dir / "ca.crt")
            cmd += ["--cert-dir", str(cert_dir)]
        else:
            cmd.append("--tls-verify=false")
        return json.loads(_run(cmd + [_docker_ref(ref)]))


def docker_manifest_inspect(reg: RunningRegistry, ref: str) -> dict:
    """``docker manifest inspect REF`` as parsed JSON, with a fresh ``DOCKER_CONFIG``.

    Note that docker re-serialises what it fetched (it is not the raw manifest byte for byte).
    """
    with tempfile.TemporaryDirectory(prefix="mm-docker-") as tmp:
        auths = {}
        if reg.username:
            token = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
            auths[reg.host] = {"auth": token}
        (Path(tmp) / "config.json").write_text(json.dumps({"auths": auths}))
        cmd = ["docker", "manifest", "inspect"]
        if reg.scheme == "http":
            cmd.append("--insecure")
        out = _run(cmd + [ref.removeprefix("docker://")], env={"DOCKER_CONFIG": tmp})
        return json.loads(out)
