"""Token scope groups: as few tokens as possible, none carrying more than a bounded number of repositories.

A token lists its access in the JWT and its scopes in the request URL; registries cap header and URL
sizes (around 8 KiB), so one token for 64 repositories can fail where 4 tokens of 16 succeed.
https://distribution.github.io/distribution/spec/auth/scope/
"""
from __future__ import annotations

from collections.abc import Iterable

MAX_RESOURCES = 16


def parse_scopes(scopes: Iterable[str]) -> dict[str, set[str]]:
    """'repository:a/b:pull,push' -> {'repository:a/b': {'pull', 'push'}} (actions merged per resource)."""
    out: dict[str, set[str]] = {}
    for scope in scopes:
        resource, _, actions = scope.rpartition(":")
        if resource:
            out.setdefault(resource, set()).update(a for a in actions.split(",") if a)
    return out


def scope_strings(group: dict[str, set[str]]) -> frozenset[str]:
    return frozenset(f"{r}:{','.join(sorted(a))}" for r, a in group.items())


class ScopeGroups:
    """The scope sets of one registry; each becomes one token (not thread-safe: callers lock)."""

    def __init__(self, limit: int = MAX_RESOURCES):
        self.limit = limit
        self.groups: list[dict[str, set[str]]] = []

    def place(self, scopes: Iterable[str]) -> frozenset[str]:
        """The scope set a request needing `scopes` should use: one that covers it, else the fullest
        one it fits in (merged), else a new one. Returns that set's scope strings (the token key)."""
        need = parse_scopes(scopes)
        for group in self.groups:
            if all(r in group and a <= group[r] for r, a in need.items()):
                return scope_strings(group)
        fits = [g for g in self.groups if len(set(g) | set(need)) <= self.limit]
        if fits:
            group = max(fits, key=lambda g: (sum(r in g for r in need), len(g)))
        else:
            group = {}
            self.groups.append(group)
        for resource, actions in need.items():
            group.setdefault(resource, set()).update(actions)
        return scope_strings(group)
