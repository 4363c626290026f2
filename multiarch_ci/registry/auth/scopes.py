"""Token scope groups: as few tokens as possible, none carrying more than a bounded number of repositories.

A token lists its access in the JWT and its scopes in the request URL; registries cap header and URL
sizes (around 8 KiB), so one token for 64 repositories can fail where 4 tokens of 16 succeed.
https://distribution.github.io/distribution/spec/auth/scope/
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

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
        self._holding: dict[str, list[int]] = {}   # resource -> the groups (by position) that list it
        self._open: list[int] = []                 # groups with room for another resource

    def place(self, scopes: Iterable[str]) -> frozenset[str]:
        """The scope set a request needing `scopes` should use: one that covers it, else the fullest
        one it fits in (merged), else a new one. Returns that set's scope strings (the token key).

        Only the groups holding one of the needed resources, and those with room, are looked at, so a
        run's requests cost time linear in their number, not in requests x groups."""
        need = parse_scopes(scopes)
        # indexes into self.groups; a group covering the request holds all its resources: look where the
        # rarest one is
        holding: Sequence[int] = min((self._holding.get(r, ()) for r in need), key=len) if need \
            else range(len(self.groups))
        for i in holding:
            group = self.groups[i]
            if all(r in group and a <= group[r] for r, a in need.items()):
                return scope_strings(group)
        candidates = dict.fromkeys([*holding, *self._open])
        fits = [i for i in candidates if len(set(self.groups[i]) | set(need)) <= self.limit]
        if fits:
            i = max(fits, key=lambda j: (sum(r in self.groups[j] for r in need), len(self.groups[j]), -j))
        else:
            i = len(self.groups)
            self.groups.append({})
            self._open.append(i)
        group = self.groups[i]
        for resource, actions in need.items():
            if resource not in group:
                self._holding.setdefault(resource, []).append(i)
            group.setdefault(resource, set()).update(actions)
        if len(group) >= self.limit and i in self._open:
            self._open.remove(i)
        return scope_strings(group)
