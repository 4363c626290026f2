"""urllib3 is imported without its HTTP/2 package's __init__ (importlib.metadata at import time), and as a
whole when it is imported already or when a release needs more of that package (engine_import.py)."""
import subprocess
import sys

import pytest

from mm_cli import ROOT

CHECK = """
import sys
{before}
from multiarch_ci.registry.http import wire
import urllib3.connection, urllib3.http2.probe
seen = ["importlib.metadata"] if "importlib.metadata" in sys.modules else []
if hasattr(sys.modules["urllib3.http2"], "inject_into_urllib3"):
    seen.append("urllib3.http2 initialised")
print(seen)
"""

# A release whose urllib3.connection needs more of the HTTP/2 package than `probe`: the stand-in fails it
NEEDS_MORE = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        stand_in = sys.modules.get("urllib3.http2")
        if name == "urllib3.connection" and stand_in is not None and not hasattr(stand_in, "__file__"):
            raise ImportError("cannot import name 'something' from 'urllib3.http2'")
sys.meta_path.insert(0, Refuse())
"""

CASES = {
    # id: (code run first, what is imported afterwards)
    "fresh-process": ("", []),
    "urllib3-imported-already": ("import urllib3", ["importlib.metadata", "urllib3.http2 initialised"]),
    "a-release-needing-more": (NEEDS_MORE, ["importlib.metadata", "urllib3.http2 initialised"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_urllib3_without_its_http2_init_unless_it_cannot(case):
    before, expected = CASES[case]
    p = subprocess.run([sys.executable, "-c", CHECK.format(before=before)], cwd=ROOT, capture_output=True,
                       text=True, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(expected), p.stdout
