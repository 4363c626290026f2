"""Scan every byte a run produced for each secret and its encodings; counts feed the suite's summary."""
from __future__ import annotations

import base64
from collections import Counter

TALLY: Counter = Counter()   # "secrets": secret values checked, "scans": texts scanned, "bytes": bytes scanned


def encodings(secret: str) -> set[str]:
    """The secret as it could leak: plain, base64 (standard and URL-safe, with/without padding)."""
    raw = secret.encode()
    forms = {secret}
    for enc in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = enc.decode()
        forms |= {text, text.rstrip("=")}
    return {f for f in forms if len(f) >= 4}


def assert_no_secrets(texts: dict[str, str | bytes], secrets: list[str], user: str | None = None) -> None:
    """No secret (nor `user:secret`) in any text, in any encoding; records what was scanned."""
    values = [s for s in secrets if s]
    if user:
        values += [f"{user}:{s}" for s in secrets if s]
    for name, text in texts.items():
        body = text.decode("utf-8", "replace") if isinstance(text, bytes) else (text or "")
        TALLY["scans"] += 1
        TALLY["bytes"] += len(body)
        for value in values:
            for form in encodings(value):
                assert form not in body, f"a secret leaked into {name}"
    TALLY["secrets"] += len(values)
