"""Errors carry their kind (core/errors.Kind), set where they are raised: the flow decides on the kind alone.

Each row makes the real registry, behind the fault proxy, fail one way and reads the kind of the error the
registry client raises. The flow's decisions (resolve.probe: not found -> wait, temporary -> busy, out of
time -> busy, anything else -> stop; children: broken -> copy again) rest on exactly these.
"""
from __future__ import annotations

import pytest

import mm_images
from mm_faults import FaultProxy, slow, status, tamper, truncate
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import Kind, RegistryError
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.registry.connect import connect
from multiarch_ci.registry.http.hosts import HostPolicy
from multiarch_ci.registry.http.transport import Policy

MANIFEST_UNKNOWN = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
DENIED = b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'
INVALID = b'{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}'
SPENT = {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "0;w=21600"}


def get_by_digest(client, ref, image):
    return client.get_manifest(ref.with_digest(Digest.parse(image["digest"])))


def get_within_half_a_second(client, ref, image):
    with client.transport.bounded(0.5):
        return get_by_digest(client, ref, image)


def put_tag(client, ref, image):
    return client.put_manifest(ref, "v2", b"{}", "application/vnd.oci.image.manifest.v1+json")


CASES = [   # (id, method, fault, the client call, the kind its error carries)
    ("404-not-found", "GET", status(404, body=MANIFEST_UNKNOWN), get_by_digest, Kind.NOT_FOUND),
    ("503-temporary", "GET", status(503), get_by_digest, Kind.TEMPORARY),
    ("429-with-quota-left-temporary", "GET", status(429, {"RateLimit-Remaining": "5"}), get_by_digest,
     Kind.TEMPORARY),
    ("429-quota-spent-denied", "GET", status(429, SPENT), get_by_digest, Kind.DENIED),
    ("403-denied", "GET", status(403, body=DENIED), get_by_digest, Kind.DENIED),
    ("400-refused", "PUT", status(400, body=INVALID), put_tag, Kind.REFUSED),
    ("tampered-bad-answer", "GET", tamper(), get_by_digest, Kind.BAD_ANSWER),
    ("cut-short-broken", "GET", truncate(), get_by_digest, Kind.BROKEN),
    ("wait-ran-out-out-of-time", "GET", slow(3), get_within_half_a_second, Kind.OUT_OF_TIME),
]


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=5.0) as p:
        yield p


@pytest.mark.parametrize("method,fault,call,kind", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_error_names_its_kind_where_it_is_raised(proxy, repo_name, method, fault, call, kind):
    image = mm_images.push_image(proxy.registry, repo_name, "v1")
    host = proxy.registry.host
    client = connect(environ={}, policy=Policy(hosts=HostPolicy.of([host]), retries=0, read_timeout=10))
    ref = ImageRef.parse(f"{host}/{repo_name}:v1")
    client.auth.ensure_ping(ref.registry)   # the ping is not the request under test
    proxy.add_rule(method, rf"^/v2/{repo_name}/manifests/", fault=fault)
    with pytest.raises(RegistryError) as caught:
        call(client, ref, image)
    assert caught.value.kind is kind, (type(caught.value).__name__, caught.value.message)
