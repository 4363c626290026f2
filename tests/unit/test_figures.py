"""The figures scripts/test.sh prints at the end add up."""
from __future__ import annotations

import re

from mm_figures import fault_counts


def test_fault_kinds_are_counted_once_so_the_parts_sum_to_the_total():
    faults = {"500": {"survived", "reported"}, "slow": {"survived", "reported"}, "429": {"survived"},
              "tampered": {"reported"}, "reset": {"survived"}}
    text = fault_counts(faults)
    assert text == ("5 fault kinds injected: 2 survived, 1 reported (exit 1, nothing tagged), 2 both "
                    "(survived at one dose, reported at a larger one)")
    total, *parts = map(int, re.findall(r"(\d+) (?:fault kinds|survived|reported|both)", text))
    assert total == sum(parts)


def test_without_overlap_no_both_part():
    assert fault_counts({"a": {"survived"}, "b": {"reported"}}) == \
        "2 fault kinds injected: 1 survived, 1 reported (exit 1, nothing tagged)"
