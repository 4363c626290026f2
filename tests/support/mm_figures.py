"""The suite's closing figures, worded so they add up (a fault kind may be both survived and reported)."""
from __future__ import annotations


def fault_counts(faults: dict[str, set[str]]) -> str:
    """'21 fault kinds injected: 12 survived, 7 reported (exit 1, nothing tagged), 2 both (...)': each kind
    counted once, so the parts sum to the total."""
    both = {k for k, v in faults.items() if {"survived", "reported"} <= v}
    survived = {k for k, v in faults.items() if "survived" in v} - both
    reported = {k for k, v in faults.items() if "reported" in v} - both
    text = (f"{len(faults)} fault kinds injected: {len(survived)} survived, {len(reported)} reported "
            "(exit 1, nothing tagged)")
    if both:
        text += f", {len(both)} both (survived at one dose, reported at a larger one)"
    return text
