"""Token scope groups: merge what is used together, never past the bound."""
from multiarch_ci.registry.auth.scopes import ScopeGroups, parse_scopes


def repo(name: str, actions: str = "pull") -> str:
    return f"repository:{name}:{actions}"


def test_actions_merge_per_resource():
    assert parse_scopes([repo("a"), repo("a", "push"), repo("b", "pull,push")]) == {
        "repository:a": {"pull", "push"}, "repository:b": {"pull", "push"}}


def test_a_covered_request_reuses_its_group():
    g = ScopeGroups()
    key = g.place([repo("t", "pull,push"), repo("s1")])
    assert g.place([repo("t")]) == key and g.place([repo("s1")]) == key and len(g.groups) == 1


def test_mount_bundles_fill_groups_up_to_the_bound():
    g = ScopeGroups(limit=16)
    for i in range(64):  # 64 cross-repo sources, each mounted into t: needs t push + source pull together
        g.place([repo("t", "pull,push"), repo(f"s{i}")])
    assert [len(x) for x in g.groups] == [16, 16, 16, 16, 5]  # the target + 15 sources each
    assert all(x["repository:t"] == {"pull", "push"} for x in g.groups)
    # every mount still finds a token covering both of its scopes
    for i in range(64):
        key = g.place([repo("t", "pull,push"), repo(f"s{i}")])
        assert f"repository:s{i}:pull" in key and "repository:t:pull,push" in key
    assert len(g.groups) == 5


def test_a_request_larger_than_the_bound_still_gets_one_group():
    g = ScopeGroups(limit=2)
    key = g.place([repo("a"), repo("b"), repo("c")])
    assert len(key) == 3 and len(g.groups) == 1
