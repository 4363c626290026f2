"""oci-layout:// references: strict parse, printed back as parsed, one clear error for each malformed form."""
import pytest

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.location import LayoutRef, parse_location
from multiarch_ci.core.plan import make_plan
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.sources import forms as sources
from multiarch_ci.sources import specfile

HEX = "a" * 64


@pytest.mark.parametrize("text,path,tag,digest", [
    ("oci-layout://out", "out", None, None),
    ("oci-layout://./out:v1", "./out", "v1", None),
    ("oci-layout:///abs/dir:1.2.3", "/abs/dir", "1.2.3", None),
    (f"oci-layout://out@sha256:{HEX}", "out", None, f"sha256:{HEX}"),
    ("oci-layout://host:5000/dir", "host:5000/dir", None, None),          # ':' before the last '/' is path
    ("oci-layout://C:/work/out:latest", "C:/work/out", "latest", None),
    ("oci-layout://a@b/out:v2", "a@b/out", "v2", None),                   # '@' followed by a '/' is path
    ("oci-layout://out.tar:amd64", "out.tar", "amd64", None),
    ("  oci-layout://out:v1  ", "out", "v1", None),
], ids=["bare", "tag", "abs", "digest", "colon-in-dir", "drive", "at-in-dir", "tar", "spaces"])
def test_parse_and_print_back(text, path, tag, digest):
    ref = LayoutRef.parse(text)
    assert (ref.path, ref.tag, str(ref.digest) if ref.digest else None) == (path, tag, digest)
    assert str(ref) == text.strip()
    assert LayoutRef.parse(str(ref)) == ref
    assert parse_location(text) == ref


@pytest.mark.parametrize("text,fragment", [
    ("oci-layout://", "no path"),
    ("oci-layout://:v1", "no path"),
    ("oci-layout://@sha256:" + HEX, "no path"),
    ("oci-layout://out:", "invalid tag ''"),
    ("oci-layout://out:-bad", "invalid tag '-bad'"),
    ("oci-layout://out:a b", "invalid tag 'a b'"),
    ("oci-layout://out:" + "x" * 129, "invalid tag"),
    ("oci-layout://out@sha256:abc", "sha256 takes 64"),
    ("oci-layout://out@md5:" + HEX, "unsupported algorithm"),
    (f"oci-layout://out:v1@sha256:{HEX}", "not both"),
    ("oci-layout://o\x00ut", "control character"),
    ("docker://out", "invalid reference"),
], ids=["empty", "tag-only", "digest-only", "empty-tag", "dash-tag", "space-tag", "long-tag", "short-digest",
        "bad-alg", "tag-and-digest", "nul", "other-scheme"])
def test_malformed_is_an_input_error(text, fragment):
    with pytest.raises(InputError) as e:
        parse_location(text)
    assert fragment in e.value.message
    assert e.value.exit_code == 2 and e.value.hint
    assert "\n" not in str(e.value)


def test_registry_references_pass_through():
    assert parse_location("127.0.0.1:5000/app:v1") == ImageRef("127.0.0.1:5000", "app", "v1")


def test_reference_and_rewrites():
    ref = LayoutRef.parse("oci-layout://out:v1")
    assert ref.reference == "v1" and LayoutRef.parse("oci-layout://out").reference is None
    pinned = ref.with_digest(Digest("sha256", HEX))
    assert pinned.tag is None and pinned.reference == f"sha256:{HEX}"
    assert str(pinned.with_tag("v2")) == "oci-layout://out:v2"


@pytest.mark.parametrize("a,b,same_repo,mountable", [
    ("oci-layout://out:v1", "oci-layout://out:v2", True, False),
    ("oci-layout://out", "oci-layout://other", False, False),
    ("oci-layout://out", "127.0.0.1:5000/out", False, False),
    ("127.0.0.1:5000/app:a", "oci-layout://127.0.0.1:5000/app", False, False),
    ("127.0.0.1:5000/app:a", "127.0.0.1:5000/app:b", True, True),
    ("127.0.0.1:5000/app:a", "127.0.0.1:5000/other:b", False, True),
], ids=["one-layout", "two-layouts", "layout-vs-registry", "registry-vs-layout", "one-repo", "one-registry"])
def test_a_layout_is_its_own_repository_and_never_mounted(a, b, same_repo, mountable):
    from multiarch_ci.core.location import registry_of, same_registry

    left, right = parse_location(a), parse_location(b)
    assert left.in_repository(right) is same_repo and right.in_repository(left) is same_repo
    assert same_registry(left, right) is mountable and same_registry(right, left) is mountable
    assert (registry_of(left) is None) == isinstance(left, LayoutRef)


@pytest.mark.parametrize("parse,want", [
    (lambda: sources.parse_matrix('[{"image": "oci-layout://out/amd64:v1", "platform": "linux/amd64"}]', "m.json"),
     (LayoutRef("out/amd64", "v1"), "linux/amd64")),
    (lambda: sources.parse_refs("linux/arm64=oci-layout://arm64.tar"), (LayoutRef("arm64.tar"), "linux/arm64")),
    (lambda: sources.sources_from_template("linux/arm64/v8", "oci-layout://out:ARCHVARIANT"),
     (LayoutRef("out", "arm64v8"), "linux/arm64/v8")),
    (lambda: specfile.parse_spec(f"image: r.io/o/app:v1\nmanifests:\n  - image: oci-layout://o@sha256:{HEX}\n",
                                 "s.yaml").sources, (LayoutRef("o", None, Digest.parse(f"sha256:{HEX}")), None)),
], ids=["matrix", "refs", "template", "spec"])
def test_every_source_form_takes_a_layout(parse, want):
    (spec,) = parse()
    assert (spec.ref, str(spec.platform) if spec.platform else None) == want
    assert spec.digest == spec.ref.digest


def test_a_layout_target_plan_keeps_the_path_and_refuses_its_own_tag_as_a_source():
    target = LayoutRef.parse("oci-layout://out:v1")
    plan = make_plan(target, ["latest"], sources.parse_refs("oci-layout://out:amd64"))
    assert plan.target == LayoutRef("out") and plan.tags == ("v1", "latest")
    with pytest.raises(InputError, match="is also the target tag"):
        make_plan(target, [], sources.parse_refs("oci-layout://out:v1"))
