"""How much is read at once or at most, wherever images are read from (a registry or a layout)."""
from __future__ import annotations

MANIFEST_CAP = 4 * 1024 * 1024   # a manifest (and any answer read like one: tag lists, referrers)
CONFIG_CAP = 8 * 1024 * 1024     # a blob read whole: an image config
CHUNK = 8 * 1024 * 1024          # a streamed blob's pieces
