"""Build the repository's Dockerfile and run the image without a Docker engine (buildah + mmdebstrap).

* No image registry outside is reachable here, so the Dockerfile's real base
  (``python:3.12-slim-bookworm``) cannot be pulled.  ``standin_base`` makes a stand-in with
  ``mmdebstrap``: Debian bookworm with python3, python3-venv and python3-pip, ``python``/``pip`` names,
  no EXTERNALLY-MANAGED marker (like the official image), the host's CA bundle and the host's pip
  index settings (so pip in the build reaches the package index the way pip on the host does; nothing
  host-specific is committed: it is read from ``pip config list`` at build time).  It is imported with
  ``FROM scratch`` + ``ADD rootfs.tar /`` and kept, keyed by a hash of its recipe, in a buildah storage
  under the cache folder (``cache_dir()``), so only a fresh machine pays for it (about a minute).
* ``Buildah.build`` builds the Dockerfile as a runner does, only ``BASE`` overridden.
* ``Buildah.run`` runs a command in a working container with ``--isolation chroot``: no network
  namespace is made, so the container shares the host's loopback and reaches the test registries.

Every buildah command uses ``--storage-driver vfs`` and a private ``--root``/``--runroot`` so it never
touches another buildah user's storage on the machine.  Runnable for humans: ``scripts/build-image.sh``.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")      # Debian's system bundle, host and image
STANDIN_NAME = "localhost/mm-standin-base"
PACKAGES = ("python3", "python3-venv", "python3-pip", "python-is-python3", "ca-certificates")
# A snapshot mirror's Release files are past their Valid-Until: accept them, as the host's apt does.
APT_OPTIONS = ('Acquire::Check-Valid-Until "false"', 'Acquire::Check-Date "false"')
# Like Debian's slim images: no manuals, docs (but the copyright files) or translations.
DPKG_OPTIONS = ("path-exclude=/usr/share/man/*", "path-exclude=/usr/share/info/*",
                "path-exclude=/usr/share/locale/*", "path-exclude=/usr/share/doc/*",
                "path-include=/usr/share/doc/*/copyright")
# Run inside the new root ($1) after the packages are installed.
CUSTOMIZE = (
    'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
    'cp "$MM_CA_BUNDLE" "$1/etc/ssl/certs/ca-certificates.crt"',
    'cp "$MM_PIP_CONF" "$1/etc/pip.conf"',
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
)
# pip settings carried from the host into the stand-in; local paths (file:// indexes, find-links,
# constraint files) are not: they do not exist inside the image.
PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout", "retries")
LOG_TAIL = 40


def cache_dir() -> Path:
    """``$MM_IMAGE_CACHE``, else /var/cache/multiarch-manifest when writable, else ~/.cache/..."""
    if os.environ.get("MM_IMAGE_CACHE"):
        return Path(os.environ["MM_IMAGE_CACHE"])
    system = Path("/var/cache/multiarch-manifest")
    try:
        system.mkdir(parents=True, exist_ok=True)
        if os.access(system, os.W_OK):
            return system
    except OSError:
        pass
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "multiarch-manifest"


def host_pip_conf() -> str:
    """The host pip's index settings as a pip.conf for the image, with the image's CA bundle."""
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                          text=True, timeout=60)
    settings: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if not sep or name not in PIP_KEYS:
            continue
        words = [w for w in value.strip().strip("'\"").split() if not w.startswith(("file:", "/"))]
        if words:
            settings[name] = " ".join(words)       # later (env, user) entries win, as in pip
    lines = ["[global]", f"cert = {CA_BUNDLE}"] + [f"{k} = {v}" for k, v in sorted(settings.items())]
    return "\n".join(lines) + "\n"


def _tail(text: str, n: int = LOG_TAIL) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-n:])


class BuildError(RuntimeError):
    pass


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def log_tail(self) -> str:
        return _tail(self.out + ("\n" if self.out and self.err else "") + self.err)


class Buildah:
    """buildah on a private vfs storage under ``home`` (root/ and run/), chroot isolation."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.base_args = ["buildah", "--storage-driver", "vfs", "--root", str(self.home / "root"),
                          "--runroot", str(self.home / "run")]
        self.env = {**os.environ, "BUILDAH_ISOLATION": "chroot", "STORAGE_DRIVER": "vfs"}

    def __call__(self, *args: str, check: bool = True, timeout: float = 600, **kw) -> Result:
        start = time.monotonic()
        proc = subprocess.run([*self.base_args, *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout, **kw)
        result = Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
        if check and proc.returncode != 0:
            raise BuildError(f"buildah {' '.join(args[:2])} failed ({proc.returncode}):\n{result.log_tail}")
        return result

    def image_exists(self, name: str) -> bool:
        return self("inspect", "--type", "image", name, check=False).code == 0

    def image_config(self, name: str) -> dict:
        return json.loads(self("inspect", "--type", "image", name).out)["OCIv1"]["config"]

    def image_size(self, name: str) -> int:
        """Uncompressed size in bytes: the sum of the image's layers in the storage."""
        layers = json.loads(self("inspect", "--type", "image", name).out)["OCIv1"]["rootfs"]["diff_ids"]
        return sum(self.layer_size(d) for d in layers)

    def layer_size(self, diff_id: str) -> int:
        for entry in json.loads((self.home / "root" / "vfs-layers" / "layers.json").read_text()):
            if entry.get("diff-digest") == diff_id:
                return int(entry["diff-size"])
        raise BuildError(f"layer {diff_id} not in the storage")

    def build(self, tag: str, base: str, context: Path = ROOT, dockerfile: str = "Dockerfile") -> Result:
        """``buildah bud`` of ``dockerfile`` as a runner builds it, only the BASE argument set."""
        return self("bud", "--isolation", "chroot", "--build-arg", f"BASE={base}", "-f",
                    str(Path(context) / dockerfile), "-t", tag, str(context), check=False)

    def run(self, container: str, command: list[str], *, env: dict[str, str] | None = None,
            volumes: dict[str, str] | None = None, workdir: str | None = None,
            timeout: float = 180) -> Result:
        args = ["run", "--isolation", "chroot"]
        for host, inside in (volumes or {}).items():
            args += ["-v", f"{host}:{inside}"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        if workdir:
            args += ["--workingdir", workdir]
        return self(*args, container, "--", *command, check=False, timeout=timeout)


def standin_recipe() -> tuple[list[str], dict[str, str]]:
    """The mmdebstrap command line and the files it copies in (name -> text)."""
    argv = ["mmdebstrap", "--mode=root", "--variant=apt", f"--include={','.join(PACKAGES)}",
            # merged /usr made by the hook, not by the usrmerge package (which pulls in perl: +50 MB)
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr"]
    argv += [f"--aptopt={o}" for o in APT_OPTIONS]
    argv += [f"--dpkgopt={o}" for o in DPKG_OPTIONS]
    argv += [f"--customize-hook={h}" for h in CUSTOMIZE]
    argv += ["bookworm"]
    return argv, {"pip.conf": host_pip_conf(), "ca-certificates.crt": CA_BUNDLE.read_text()}


def standin_key() -> str:
    argv, files = standin_recipe()
    digest = hashlib.sha256(json.dumps([argv, files], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def standin_base(buildah: Buildah, log=print) -> str:
    """The stand-in base image's name in ``buildah``'s storage, made first if not kept there."""
    argv, files = standin_recipe()
    name = f"{STANDIN_NAME}:{standin_key()}"
    if buildah.image_exists(name):
        return name
    buildah.home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mm-standin-", dir=buildah.home) as tmp:
        work = Path(tmp)
        for file_name, text in files.items():
            (work / file_name).write_text(text)
        env = {**os.environ, "MM_CA_BUNDLE": str(work / "ca-certificates.crt"),
               "MM_PIP_CONF": str(work / "pip.conf")}
        ctx = work / "ctx"
        ctx.mkdir()
        start = time.monotonic()
        proc = subprocess.run([*argv, str(ctx / "rootfs.tar")], capture_output=True, text=True,
                              env=env, timeout=900)
        if proc.returncode != 0:
            raise BuildError(f"mmdebstrap failed ({proc.returncode}):\n{_tail(proc.stderr)}")
        log(f"stand-in base: mmdebstrap {time.monotonic() - start:.1f}s")
        (ctx / "Containerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["python3"]\n')
        result = buildah("bud", "--isolation", "chroot", "-t", name, "-f", str(ctx / "Containerfile"),
                         str(ctx))
        log(f"stand-in base: import {result.seconds:.1f}s")
    for line in buildah("images", "--format", "{{.Name}}:{{.Tag}}").out.splitlines():
        if line.startswith(f"{STANDIN_NAME}:") and line != name:
            remove_image(buildah, line)                 # a stale recipe's base: 150 MB each
    return name


def remove_image(buildah: Buildah, name: str) -> None:
    buildah("rmi", "-f", name, check=False)


def main(argv: list[str]) -> int:
    """Build the image as the tests do: ``scripts/build-image.sh [TAG]``; prints timings and size."""
    tag = argv[0] if argv else "localhost/multiarch-manifest:dev"
    buildah = Buildah(cache_dir() / "buildah")
    start = time.monotonic()
    base = standin_base(buildah, log=lambda m: print(m, file=sys.stderr))
    print(f"base {base} ready in {time.monotonic() - start:.1f}s", file=sys.stderr)
    result = buildah.build(tag, base)
    print(result.out, end="")
    print(result.err, end="", file=sys.stderr)
    if result.code != 0:
        print(f"build failed ({result.code}) after {result.seconds:.1f}s", file=sys.stderr)
        return 1
    size, base_size = buildah.image_size(tag), buildah.image_size(base)
    print(f"built {tag} in {result.seconds:.1f}s: {size / 1e6:.1f} MB, of which "
          f"{(size - base_size) / 1e6:.1f} MB added by the Dockerfile to the base", file=sys.stderr)
    print(f"buildah storage: {buildah.home} (use: buildah --storage-driver vfs --root "
          f"{buildah.home / 'root'} --runroot {buildah.home / 'run'} ...)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
