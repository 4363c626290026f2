"""Pure parts behind the first-hour messages: references, tags from branch names, notes, setting names."""
from __future__ import annotations

import pytest

from multiarch_ci.core.errors import InputError, WaitTimeout, setting
from multiarch_ci.core.reference import ImageRef, check_tag, tag_from
from multiarch_ci.sources.notes import hub_note, normalised_notes


@pytest.mark.parametrize("text, tag", [
    ("feature/foo", "feature-foo"), ("main", "main"), ("release/v1.2", "release-v1.2"),
    ("dependabot/npm_and_yarn/x@2", "dependabot-npm_and_yarn-x-2"), (".hidden/x", "hidden-x"),
    ("-x", "x"), ("/", "latest"), ("a" * 300, "a" * 128),
])
def test_tag_from_turns_any_branch_name_into_a_valid_tag(text, tag):
    assert tag_from(text) == tag
    assert check_tag(tag_from(text)) == tag


@pytest.mark.parametrize("text, message, hint", [
    ("ghcr.io/MyOrg/app:main", "repository names are lower case ('MyOrg')", "use ghcr.io/myorg/app:main"),
    ("ghcr.io/o/App:1@sha256:" + "a" * 64, "repository names are lower case ('App')",
     "use ghcr.io/o/app:1@sha256:" + "a" * 64),
    ("App", "repository names are lower case ('App')", "use app"),
    ("ghcr.io/o/app:feature/foo", "tag 'feature/foo' cannot contain '/'", "use a tag such as feature-foo"),
    ("127.0.0.1:5000/o/app:a/b/c", "tag 'a/b/c' cannot contain '/'", "use a tag such as a-b-c"),
    ("app:feature/foo", "tag 'feature/foo' cannot contain '/'", "use a tag such as feature-foo"),
    ("[::1]:5000/o/app:x/y", "tag 'x/y' cannot contain '/'", "use a tag such as x-y"),
    ("ghcr.io:x/a", "invalid registry host 'ghcr.io:x'", "a registry is host[:port]"),
    ("ghcr.io/o/a_-b:1", "invalid repository component 'a_-b'", "each path component"),
])
def test_reference_errors_name_the_wrong_part(text, message, hint):
    with pytest.raises(InputError) as e:
        ImageRef.parse(text)
    assert message in e.value.message and e.value.hint.startswith(hint), str(e.value)


@pytest.mark.parametrize("text", ["127.0.0.1:5000/o/app:v1", "localhost:5000/a/b", "[::1]:5000/a/b:c",
                                  "ghcr.io/o/app", "app:1"])
def test_references_with_ports_and_tags_still_parse(text):
    assert str(ImageRef.parse(text)).endswith(text)


def test_normalised_platforms_are_noted():
    assert normalised_notes("Linux/AMD64, linux/x86_64,linux/arm64/v8,linux/armhf") == (
        "--platforms Linux/AMD64 read as linux/amd64", "--platforms linux/x86_64 read as linux/amd64",
        "--platforms linux/armhf read as linux/arm/v7")
    assert normalised_notes("linux/amd64", "input platforms") == ()


@pytest.mark.parametrize("text, note", [
    ("app:1", "--target app:1 names no registry: Docker Hub assumed (docker.io/library/app)"),
    ("org/app:1", "--target org/app:1 names no registry: Docker Hub assumed (docker.io/org/app)"),
    ("docker.io/org/app:1", None), ("ghcr.io/org/app:1", None), ("localhost/app:1", None),
])
def test_docker_hub_assumption_is_noted(text, note):
    assert hub_note(text, ImageRef.parse(text), "--target") == note


def test_settings_are_named_by_each_front_end():
    e = WaitTimeout("1 of 1 source(s) did not land", f"or raise {setting('wait-timeout')}")
    assert str(e) == "1 of 1 source(s) did not land (hint: or raise --wait-timeout)"
    assert e.render({"wait-timeout": "input wait-timeout"}) == \
        "1 of 1 source(s) did not land (hint: or raise input wait-timeout)"
    wrapped = InputError(f"spec: {e.message}", e.hint)  # wrapping keeps the neutral name
    assert wrapped.render({"wait-timeout": "X"}).endswith("(hint: or raise X)")
