"""Table-driven tests for the pure value types: Digest, ImageRef, Platform."""
import pytest

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef

HEX = "a" * 64

REFS = [
    ("alpine", ("docker.io", "library/alpine", None, None), "docker.io/library/alpine"),
    ("org/app:v1", ("docker.io", "org/app", "v1", None), "docker.io/org/app:v1"),
    ("index.docker.io/org/app:v1", ("docker.io", "org/app", "v1", None), "docker.io/org/app:v1"),
    ("docker.io/nginx", ("docker.io", "library/nginx", None, None), "docker.io/library/nginx"),
    ("ghcr.io/o/app:1.4.2", ("ghcr.io", "o/app", "1.4.2", None), "ghcr.io/o/app:1.4.2"),
    ("127.0.0.1:5000/a/b/c:tag_1", ("127.0.0.1:5000", "a/b/c", "tag_1", None), "127.0.0.1:5000/a/b/c:tag_1"),
    ("localhost/app", ("localhost", "app", None, None), "localhost/app"),
    ("localhost:5000/app", ("localhost:5000", "app", None, None), "localhost:5000/app"),
    (f"reg.io/app@sha256:{HEX}", ("reg.io", "app", None, f"sha256:{HEX}"), f"reg.io/app@sha256:{HEX}"),
    (f"reg.io/app:v1@sha256:{HEX}", ("reg.io", "app", "v1", f"sha256:{HEX}"), f"reg.io/app:v1@sha256:{HEX}"),
    ("reg.io/a__b/c-d/e.f:V1.0-rc", ("reg.io", "a__b/c-d/e.f", "V1.0-rc", None), "reg.io/a__b/c-d/e.f:V1.0-rc"),
    ("[::1]:5000/app", ("[::1]:5000", "app", None, None), "[::1]:5000/app"),
]


@pytest.mark.parametrize("text,parts,printed", REFS, ids=[r[0][:40] for r in REFS])
def test_reference_parses_and_prints_back(text, parts, printed):
    ref = ImageRef.parse(text)
    assert (ref.registry, ref.repository, ref.tag, str(ref.digest) if ref.digest else None) == parts
    assert str(ref) == printed
    assert ImageRef.parse(str(ref)) == ref


BAD_REFS = [
    ("", "empty"), ("ghcr.io/Org/app", "lower case"), ("app:", "invalid tag"), ("app:-x", "invalid tag"),
    ("app:" + "t" * 129, "invalid tag"), ("reg.io/app@sha256:abc", "64"), ("reg.io/app@md5:" + HEX, "algorithm"),
    ("reg.io/app@sha256:" + "A" * 64, "lower-case"), ("reg.io//app", "component"), ("reg.io/app-/x", "component"),
    ("reg..io/app", "registry"), ("a/" + "b" * 260, "longer than"), ("reg.io/", "no repository"),
    ("reg.io/app/UPPER", "lower case"),
]


@pytest.mark.parametrize("text,needle", BAD_REFS, ids=[b[0][:30] or "empty" for b in BAD_REFS])
def test_reference_rejects(text, needle):
    with pytest.raises(InputError) as e:
        ImageRef.parse(text)
    assert needle in str(e.value)


def test_reference_reference_prefers_digest_and_defaults_latest():
    assert ImageRef.parse("r.io/a").reference == "latest"
    assert ImageRef.parse("r.io/a:v1").reference == "v1"
    assert ImageRef.parse(f"r.io/a:v1@sha256:{HEX}").reference == f"sha256:{HEX}"


@pytest.mark.parametrize("data", [b"", b"{}", b"x" * 10000], ids=["empty", "json", "big"])
def test_digest_of_round_trips(data):
    d = Digest.of(data)
    assert Digest.parse(str(d)) == d and len(d.hex) == 64 and d.short == str(d)[:19]


@pytest.mark.parametrize("text", ["sha256:" + "a" * 63, "sha256:" + "g" * 64, "sha1:" + "a" * 40, "sha256",
                                  "", "sha512:" + "a" * 64, "SHA256:" + HEX],
                         ids=["short", "non-hex", "sha1", "no-colon", "empty", "sha512-short", "upper-algo"])
def test_digest_rejects(text):
    with pytest.raises(InputError):
        Digest.parse(text)


PLATFORMS = [
    ("linux/amd64", "linux/amd64"), ("linux/x86_64", "linux/amd64"), ("linux/aarch64", "linux/arm64"),
    ("linux/arm64/v8", "linux/arm64/v8"), ("linux/armhf", "linux/arm/v7"), ("linux/armel", "linux/arm/v6"),
    ("linux/arm/v6", "linux/arm/v6"), ("Linux/PPC64EL", "linux/ppc64le"), ("linux/i686", "linux/386"),
    ("windows(10.0.17763.6054)/amd64", "windows(10.0.17763.6054)/amd64"), ("macos/arm64", "darwin/arm64"),
]


@pytest.mark.parametrize("text,printed", PLATFORMS, ids=[p[0] for p in PLATFORMS])
def test_platform_normalises(text, printed):
    p = Platform.parse(text)
    assert str(p) == printed
    assert Platform.parse(str(p)) == p


@pytest.mark.parametrize("text", ["linux", "/amd64", "linux/amd64/v8/x", "linux/AMD 64", "linux/armhf/v6",
                                  "windows(10 0)/amd64", ""],
                         ids=["no-arch", "no-os", "too-many", "space", "alias-clash", "bad-osversion", "empty"])
def test_platform_rejects(text):
    with pytest.raises(InputError):
        Platform.parse(text)


@pytest.mark.parametrize("a,b,same", [
    ("linux/arm64", "linux/arm64/v8", True), ("linux/arm", "linux/arm/v7", True),
    ("linux/arm/v6", "linux/arm/v7", False), ("linux/amd64", "linux/amd64/v1", True),
    ("linux/amd64", "linux/amd64/v2", False),
    ("windows(10.0.17763.1)/amd64", "windows(10.0.20348.1)/amd64", False),
], ids=["arm64-v8", "arm-v7", "v6-v7", "amd64-v1", "amd64-v2", "windows-versions"])
def test_platform_same_as(a, b, same):
    assert Platform.parse(a).same_as(Platform.parse(b)) is same


def test_platform_conflicts_and_merge_with_config():
    config = Platform.from_dict({"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.6054"})
    declared = Platform.parse("windows/amd64")
    assert declared.conflicts_with(config) is None
    assert str(declared.merged_with(config)) == "windows(10.0.17763.6054)/amd64"
    assert "image config says linux/amd64" in Platform.parse("linux/arm64").conflicts_with(
        Platform.parse("linux/amd64"))
    assert "variant" in Platform.parse("linux/arm/v6").conflicts_with(Platform.parse("linux/arm/v7"))


def test_platform_to_dict_round_trip_with_features():
    d = {"architecture": "amd64", "os": "windows", "os.version": "10.0.1", "os.features": ["win32k"]}
    assert Platform.from_dict(d).to_dict() == d
