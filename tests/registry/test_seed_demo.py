"""scripts/seed_demo.py: one repository per platform, so no platform's image overwrites another's."""
from __future__ import annotations

import json
import subprocess
import sys

import mm_images
import mm_registry
from mm_cli import ROOT


def test_each_platform_gets_its_own_repository(registry):
    platforms = ["linux/amd64", "linux/arm/v7", "windows/amd64", "windows(10.0.20348.2582)/amd64"]
    proc = subprocess.run([sys.executable, "scripts/seed_demo.py", registry.host, *platforms], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**mm_registry.loopback_env(), "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    repos = {"linux/amd64": "demo/app-amd64", "linux/arm/v7": "demo/app-armv7",
             "windows/amd64": "demo/app-windows-amd64",
             "windows(10.0.20348.2582)/amd64": "demo/app-windows-10.0.20348.2582-amd64"}
    for platform, repo in repos.items():
        body, _, _ = mm_images.get_manifest(registry, repo, "v1")
        config_digest = json.loads(body)["config"]["digest"]
        config = mm_images.client(registry).request("GET", repo, f"/v2/{repo}/blobs/{config_digest}").json()
        os_ = config["os"] + (f"({config['os.version']})" if "os.version" in config else "")
        assert "/".join([os_, config["architecture"], *([config["variant"]] if "variant" in config else [])]) \
            == platform, repo
    assert len(proc.stderr.strip().splitlines()) == len(platforms)


def test_a_platform_given_twice_is_refused(registry):
    proc = subprocess.run([sys.executable, "scripts/seed_demo.py", registry.host, "linux/amd64", "linux/x86_64"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**mm_registry.loopback_env(), "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and "given twice" in proc.stderr
