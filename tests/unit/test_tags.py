"""Semver tag sets and the forward-only rule, table-driven."""
import pytest

from multiarch_ci.core.errors import InputError
from multiarch_ci.core.tags import Floating, decide, parse_version, stable_versions, tag_set


@pytest.mark.parametrize("text,version", [
    ("1.4.2", "1.4.2"), ("v1.4.2", "1.4.2"), ("refs/tags/v1.4.2", "1.4.2"), ("V2.0.0", "2.0.0"),
    ("2.1.0-rc.1", "2.1.0-rc.1"), ("refs/tags/0.3.0", "0.3.0"), (" 1.0.0 ", "1.0.0"),
], ids=["bare", "v", "git-ref", "upper-v", "prerelease", "ref-bare", "spaces"])
def test_parse_version_accepts(text, version):
    assert str(parse_version(text)) == version


@pytest.mark.parametrize("text,needle", [
    ("1.4", "not a semantic version"), ("latest", "not a semantic version"), ("", "not a semantic version"),
    ("refs/heads/main", "not a semantic version"), ("01.2.3", "not a semantic version"),
    ("1.4.2+build.5", "build metadata"), ("vv1.0.0", "not a semantic version"),
], ids=["two-parts", "word", "empty", "branch", "leading-zero", "build-metadata", "double-v"])
def test_parse_version_refuses(text, needle):
    with pytest.raises(InputError, match=needle):
        parse_version(text)


@pytest.mark.parametrize("version,kwargs,exact,floating", [
    ("1.4.2", {}, ["1.4.2"], ["1.4", "1", "latest"]),
    ("2.1.0-rc.1", {}, ["2.1.0-rc.1"], []),
    ("0.4.1", {}, ["0.4.1"], ["0.4", "latest"]),
    ("0.4.1", {"major_zero": True}, ["0.4.1"], ["0.4", "0", "latest"]),
    ("1.4.2", {"floating": False}, ["1.4.2"], []),
    ("1.4.2", {"latest": "never"}, ["1.4.2"], ["1.4", "1"]),
    ("1.4.2", {"latest": "always"}, ["1.4.2"], ["1.4", "1", "latest"]),
], ids=["stable", "prerelease", "zero-major", "zero-major-asked", "no-floating", "latest-never", "latest-always"])
def test_tag_set(version, kwargs, exact, floating):
    e, f = tag_set(parse_version(version), **kwargs)
    assert list(e) == exact and [x.tag for x in f] == floating


def test_tag_set_refuses_unknown_latest_mode():
    with pytest.raises(InputError, match="--latest"):
        tag_set(parse_version("1.0.0"), latest="sometimes")


def test_stable_versions_read_v_and_bare_and_ignore_the_rest():
    tags = ["1.0.0", "v2.0.0", "2.1.0-rc.1", "latest", "sha-abc", "3.0", "V4.0.0", "1.0.0+x"]
    assert sorted(map(str, stable_versions(tags))) == ["1.0.0", "2.0.0", "4.0.0"]


HISTORY = ["2.0.0", "2.0", "2", "latest", "1.9.0", "1.9", "1", "v2.1.0-rc.1", "nightly"]


@pytest.mark.parametrize("version,existing,moves", [
    ("1.9.1", HISTORY, {"1.9": None, "1": None, "latest": "2.0.0"}),
    ("2.0.1", HISTORY, {"2.0": None, "2": None, "latest": None}),
    ("1.8.5", HISTORY + ["1.8.9"], {"1.8": "1.8.9", "1": "1.9.0", "latest": "2.0.0"}),
    ("2.0.0", HISTORY, {"2.0": None, "2": None, "latest": None}),
    ("3.0.0", [], {"3.0": None, "3": None, "latest": None}),
    ("1.0.0", ["v5.0.0"], {"1.0": None, "1": None, "latest": "5.0.0"}),
], ids=["backport", "patch-forward", "old-line", "rerun-same", "empty-repo", "v-prefixed-newer"])
def test_decide_moves_only_forward(version, existing, moves):
    _, floating = tag_set(parse_version(version))
    got = {d.floating.tag: (None if d.moves else d.newer) for d in decide(parse_version(version), floating, existing)}
    assert got == moves


def test_latest_always_moves_even_backwards():
    d = decide(parse_version("1.0.0"), [Floating("latest", (), always=True)], ["9.0.0"])
    assert d[0].moves
