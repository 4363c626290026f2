"""What a person reads: the inspect table and masked console lines."""
import base64
import io

from multiarch_ci.frontends.output import Console, inspect_table

ROWS = [
    {"platform": "linux/amd64", "digest": "sha256:aaa", "mediaType": "m1", "size": 10},
    {"platform": "linux/s390x", "digest": "sha256:bbb", "mediaType": "m1", "size": 200},
    {"platform": "unknown/unknown", "digest": "sha256:ccc", "mediaType": "m2", "size": 3,
     "attestationFor": "sha256:bbb"},
]


def test_table_aligns_columns_and_marks_attestations():
    lines = inspect_table(ROWS).splitlines()
    assert lines[0].split() == ["PLATFORM", "DIGEST", "SIZE", "MEDIA", "TYPE"]
    assert lines[3].startswith("unknown/unknown (attests linux/s390x)")
    assert len({line.index("sha256:") for line in lines[1:]}) == 1


def test_console_masks_secrets_and_their_base64():
    out, err = io.StringIO(), io.StringIO()
    c = Console(out, err, secrets=lambda: {"s3cret-pw", "ab"})
    c.out("password s3cret-pw and " + base64.b64encode(b"s3cret-pw").decode())
    c.debug("hidden unless debug s3cret-pw")
    c.debug_on = True
    c.debug("auth s3cret-pw")
    assert out.getvalue() == "password *** and ***\n"
    assert err.getvalue() == "debug: auth ***\n"
    c.out("ab stays: too short to mask without mangling text")
    assert "ab stays" in out.getvalue()
