"""urllib3 imported without its HTTP/2 package's `__init__`, which imports importlib.metadata at import
time (~15 ms of CPU at every start, bench/results/perf.md) only to check the h2 version when HTTP/2 is
turned on (`urllib3.http2.inject_into_urllib3`), which this tool never does.

The package `urllib3.http2` is registered as an empty package over its real folder before urllib3 is
imported: `urllib3.connection`'s `from .http2 import probe` then loads the real `probe` submodule, as
before; nothing else of the package exists. When urllib3 is imported already (a test process, another
library first) nothing changes; when a urllib3 release no longer imports with it, the stand-in is dropped
and urllib3 imported as it is.
"""
from __future__ import annotations

import importlib.util
import sys
import types

PACKAGE = "urllib3.http2"


def import_urllib3() -> None:
    """Import urllib3 (once per process), skipping what only HTTP/2 needs."""
    if "urllib3" in sys.modules:
        return
    spec = importlib.util.find_spec("urllib3")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        return
    stand_in = types.ModuleType(PACKAGE, "urllib3's HTTP/2 package, its __init__ not run (multiarch_ci)")
    stand_in.__path__ = [f"{folders[0]}/http2"]
    stand_in.__package__ = PACKAGE
    sys.modules[PACKAGE] = stand_in
    try:
        __import__("urllib3")   # the import statement's own path (-X importtime, test_startup_imports, sees it)
    except ImportError:   # a release that needs more of the package: the whole of it, as it comes
        for name in [n for n in sys.modules if n == "urllib3" or n.startswith("urllib3.")]:
            del sys.modules[name]
        __import__("urllib3")
