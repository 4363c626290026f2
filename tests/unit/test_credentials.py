"""Tests for multiarch_ci.registry.auth.credentials: docker config, credential helpers, precedence."""
from __future__ import annotations

import base64
import json
import stat
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from multiarch_ci.core.errors import InputError, RegistryError
from multiarch_ci.registry.auth.credentials import (
    DOCKER_HUB_CONFIG_KEY,
    Credential,
    CredentialStore,
    normalize_registry,
)

HELPER_SECRET = "s3cr3t-from-helper"
HELPER_STDERR = "helper-stderr-leak-canary"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_config(directory: Path, data: dict | str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return path


def store_for(tmp_path: Path, config: dict | str | None, **kwargs) -> CredentialStore:
    """A store reading ``tmp_path/docker/config.json`` through DOCKER_CONFIG."""
    if config is not None:
        write_config(tmp_path / "docker", config)
    environ = {"DOCKER_CONFIG": str(tmp_path / "docker"), "PATH": str(tmp_path / "empty-bin")}
    environ.update(kwargs.pop("environ", {}))
    return CredentialStore(environ=environ, **kwargs)


# --- a real credential helper on a private PATH -----------------------------------------------

# Behaviour is driven by files in $CRED_TEST_DIR, a variable that only exists in the environ
# mapping handed to CredentialStore: the helper working at all proves env was passed through.
HELPER_SOURCE = '''#!{python}
import json, os, sys, time
d = os.environ["CRED_TEST_DIR"]
name = os.path.basename(sys.argv[0])
server = sys.stdin.read()
with open(os.path.join(d, "calls.log"), "a") as f:
    f.write(json.dumps({{"helper": name, "argv": sys.argv[1:], "stdin": server}}) + "\\n")
mode_file = os.path.join(d, "mode")
mode = open(mode_file).read().strip() if os.path.exists(mode_file) else "ok"
if mode == "sleep":
    time.sleep(float(os.environ.get("CRED_TEST_SLEEP", "0.3")))
if mode == "hang":
    time.sleep(30)
if mode == "fail":
    sys.stdout.write("password " + {secret!r} + " rejected\\n")
    sys.stderr.write({stderr!r} + " " + {secret!r} + "\\n")
    sys.exit(3)
if mode == "badjson":
    sys.stdout.write("not json " + {secret!r})
    sys.exit(0)
creds = json.load(open(os.path.join(d, "creds.json")))
entry = creds.get(name, {{}}).get(server)
if entry is None:
    sys.stdout.write("credentials not found in native keychain\\n")
    sys.exit(1)
json.dump({{"ServerURL": server, "Username": entry[0], "Secret": entry[1]}}, sys.stdout)
'''


class Helpers:
    """Installs ``docker-credential-NAME`` scripts into a temp bin dir and reads their call log."""

    def __init__(self, tmp_path: Path):
        self.bin = tmp_path / "bin"
        self.state = tmp_path / "helper-state"
        self.bin.mkdir()
        self.state.mkdir()
        self.creds: dict[str, dict[str, list[str]]] = {}
        self.set_mode("ok")

    def install(self, name: str, creds: dict[str, tuple[str, str]] | None = None) -> None:
        exe = f"docker-credential-{name}"
        script = self.bin / exe
        script.write_text(HELPER_SOURCE.format(python=sys.executable, secret=HELPER_SECRET,
                                               stderr=HELPER_STDERR))
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.creds[exe] = {url: list(pair) for url, pair in (creds or {}).items()}
        (self.state / "creds.json").write_text(json.dumps(self.creds))

    def set_mode(self, mode: str) -> None:
        (self.state / "mode").write_text(mode)

    def environ(self, **extra: str) -> dict[str, str]:
        return {"PATH": str(self.bin), "CRED_TEST_DIR": str(self.state), **extra}

    def calls(self) -> list[dict]:
        log = self.state / "calls.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def helpers(tmp_path: Path) -> Helpers:
    return Helpers(tmp_path)


def helper_store(tmp_path: Path, helpers: Helpers, config: dict, **kwargs) -> CredentialStore:
    write_config(tmp_path / "docker", config)
    return CredentialStore(environ=helpers.environ(DOCKER_CONFIG=str(tmp_path / "docker")),
                           **kwargs)


# --- normalisation ----------------------------------------------------------------------------

@pytest.mark.parametrize("key, host", [
    ("ghcr.io", "ghcr.io"),
    ("https://ghcr.io", "ghcr.io"),
    ("http://ghcr.io", "ghcr.io"),
    ("https://ghcr.io/v1/", "ghcr.io"),
    ("ghcr.io/v2/", "ghcr.io"),
    ("HTTPS://GHCR.IO/", "ghcr.io"),
    ("127.0.0.1:5000", "127.0.0.1:5000"),
    ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
    (DOCKER_HUB_CONFIG_KEY, "docker.io"),
    ("index.docker.io", "docker.io"),
    ("registry-1.docker.io", "docker.io"),
    ("docker.io", "docker.io"),
    ("  registry.gitlab.com/group/project ", "registry.gitlab.com"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_normalize_registry(key, host):
    assert normalize_registry(key) == host


# --- auths entries ----------------------------------------------------------------------------

AUTHS_CASES = [
    pytest.param({"ghcr.io": {"auth": b64("alice:pw1")}}, "ghcr.io",
                 ("alice", "pw1", None), id="auth-base64"),
    pytest.param({"ghcr.io": {"auth": b64("alice:pa:ss:word")}}, "ghcr.io",
                 ("alice", "pa:ss:word", None), id="auth-password-with-colons"),
    pytest.param({"ghcr.io": {"auth": b64("alice:pw1").rstrip("=")}}, "ghcr.io",
                 ("alice", "pw1", None), id="auth-unpadded-base64"),
    pytest.param({"ghcr.io": {"username": "bob", "password": "pw2"}}, "ghcr.io",
                 ("bob", "pw2", None), id="username-password"),
    pytest.param({"ghcr.io": {"auth": b64("alice:pw1"), "username": "bob", "password": "x"}},
                 "ghcr.io", ("alice", "pw1", None), id="auth-beats-username-password"),
    pytest.param({"ghcr.io": {"auth": b64("carol:"), "identitytoken": "refresh-tok"}}, "ghcr.io",
                 ("carol", None, "refresh-tok"), id="identitytoken-with-user"),
    pytest.param({"ghcr.io": {"identitytoken": "refresh-tok"}}, "ghcr.io",
                 (None, None, "refresh-tok"), id="identitytoken-alone"),
    pytest.param({"https://ghcr.io": {"auth": b64("alice:pw1")}}, "ghcr.io",
                 ("alice", "pw1", None), id="key-https-scheme"),
    pytest.param({"https://ghcr.io/v1/": {"auth": b64("alice:pw1")}}, "ghcr.io",
                 ("alice", "pw1", None), id="key-https-v1-path"),
    pytest.param({"ghcr.io/v2/": {"auth": b64("alice:pw1")}}, "ghcr.io",
                 ("alice", "pw1", None), id="key-v2-path"),
    pytest.param({"http://127.0.0.1:5000": {"auth": b64("u:p")}}, "127.0.0.1:5000",
                 ("u", "p", None), id="key-http-host-port"),
    pytest.param({"GHCR.io": {"auth": b64("alice:pw1")}}, "ghcr.io",
                 ("alice", "pw1", None), id="key-case-insensitive"),
    pytest.param({DOCKER_HUB_CONFIG_KEY: {"auth": b64("hub:hpw")}}, "docker.io",
                 ("hub", "hpw", None), id="hub-key-lookup-docker.io"),
    pytest.param({DOCKER_HUB_CONFIG_KEY: {"auth": b64("hub:hpw")}}, "index.docker.io",
                 ("hub", "hpw", None), id="hub-key-lookup-index.docker.io"),
    pytest.param({DOCKER_HUB_CONFIG_KEY: {"auth": b64("hub:hpw")}}, "registry-1.docker.io",
                 ("hub", "hpw", None), id="hub-key-lookup-registry-1"),
    pytest.param({"docker.io": {"auth": b64("hub:hpw")}}, "docker.io",
                 ("hub", "hpw", None), id="hub-alias-key-docker.io"),
    pytest.param({"index.docker.io": {"auth": b64("hub:hpw")}}, "docker.io",
                 ("hub", "hpw", None), id="hub-alias-key-index"),
    pytest.param({"https://ghcr.io": {"auth": b64("old:o")}, "ghcr.io": {"auth": b64("new:n")}},
                 "ghcr.io", ("new", "n", None), id="exact-key-preferred"),
    pytest.param({"ghcr.io/org": {"auth": b64("org:o")}, "https://ghcr.io": {"auth": b64("h:p")}},
                 "ghcr.io", ("h", "p", None), id="host-key-beats-repo-scoped-key"),
    pytest.param({"ghcr.io": {"auth": ""}}, "ghcr.io", None, id="placeholder-without-store"),
    pytest.param({"ghcr.io": {"username": "bob"}}, "ghcr.io", None, id="username-without-secret"),
    pytest.param({"ghcr.io": {"auth": b64("alice:pw1")}}, "quay.io", None, id="other-host"),
    pytest.param({}, "ghcr.io", None, id="no-auths"),
]


@pytest.mark.parametrize("auths, lookup, expected", AUTHS_CASES)
def test_auths_entries(tmp_path, auths, lookup, expected):
    store = store_for(tmp_path, {"auths": auths})
    cred = store.lookup(lookup)
    if expected is None:
        assert cred is None
    else:
        assert (cred.username, cred.password, cred.identity_token) == expected
        assert cred.source.startswith("the config.json auth for ")


# --- where config.json is -----------------------------------------------------------------------

def _creds(user: str) -> dict:
    return {"auths": {"ghcr.io": {"auth": b64(f"{user}:pw")}}}


@pytest.mark.parametrize("layout, expected_user", [
    pytest.param({"DOCKER_CONFIG": "dc", "HOME": "home"}, "from-docker-config",
                 id="DOCKER_CONFIG-beats-HOME"),
    pytest.param({"HOME": "home"}, "from-home", id="HOME-dot-docker"),
    pytest.param({"DOCKER_CONFIG": "", "HOME": "home"}, "from-home", id="empty-DOCKER_CONFIG"),
    pytest.param({"DOCKER_CONFIG": "dc", "HOME": "home", "config_dir": "explicit"},
                 "from-config-dir", id="config_dir-arg-beats-all"),
    pytest.param({"DOCKER_CONFIG": "missing", "HOME": "home"}, None,
                 id="DOCKER_CONFIG-without-file-is-no-creds"),
    pytest.param({}, None, id="no-HOME-no-DOCKER_CONFIG"),
])
def test_config_location(tmp_path, monkeypatch, layout, expected_user):
    write_config(tmp_path / "dc", _creds("from-docker-config"))
    write_config(tmp_path / "home" / ".docker", _creds("from-home"))
    write_config(tmp_path / "explicit", _creds("from-config-dir"))
    # the process environment must not be consulted
    write_config(tmp_path / "process", _creds("from-os-environ"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "process"))
    monkeypatch.setenv("HOME", str(tmp_path / "process"))

    environ = {k: (str(tmp_path / v) if v else "") for k, v in layout.items() if k != "config_dir"}
    config_dir = str(tmp_path / layout["config_dir"]) if "config_dir" in layout else None
    store = CredentialStore(environ=environ, config_dir=config_dir)
    cred = store.lookup("ghcr.io")
    assert (cred.username if cred else None) == expected_user


def test_default_environ_is_os_environ(tmp_path, monkeypatch):
    write_config(tmp_path / "process", _creds("from-os-environ"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "process"))
    assert CredentialStore().lookup("ghcr.io").username == "from-os-environ"


def test_config_path_property(tmp_path):
    store = CredentialStore(environ={"HOME": str(tmp_path)})
    assert store.config_path == str(tmp_path / ".docker" / "config.json")
    assert CredentialStore(environ={}).config_path is None


# --- precedence -------------------------------------------------------------------------------

EXPLICIT = Credential("cli-user", "cli-pw", source="--username")
FALLBACK = Credential("ci-user", "ci-pw", source="GitLab CI_REGISTRY")


@pytest.mark.parametrize("explicit, config_user, fallback, expected_source", [
    pytest.param(EXPLICIT, "cfg", FALLBACK, "--username", id="explicit-beats-config"),
    pytest.param(None, "cfg", FALLBACK, "the config.json auth for ghcr.io", id="config-beats-fallback"),
    pytest.param(None, None, FALLBACK, "GitLab CI_REGISTRY", id="fallback-when-no-config"),
    pytest.param(EXPLICIT, None, None, "--username", id="explicit-alone"),
    pytest.param(None, None, None, None, id="nothing"),
])
def test_precedence(tmp_path, explicit, config_user, fallback, expected_source):
    config = _creds(config_user) if config_user else {"auths": {}}
    store = store_for(tmp_path, config,
                      explicit={"ghcr.io": explicit} if explicit else None,
                      fallback={"https://ghcr.io/": fallback} if fallback else None)
    cred = store.lookup("ghcr.io")
    assert (cred.source if cred else None) == expected_source


def test_explicit_does_not_read_broken_config(tmp_path):
    store = store_for(tmp_path, "{ not json", explicit={"ghcr.io": EXPLICIT})
    assert store.lookup("ghcr.io") is EXPLICIT
    with pytest.raises(InputError):
        store.lookup("quay.io")


def test_explicit_keys_are_normalised(tmp_path):
    store = store_for(tmp_path, None, explicit={"index.docker.io": EXPLICIT})
    assert store.lookup("docker.io") is EXPLICIT
    assert store.lookup("registry-1.docker.io") is EXPLICIT


# --- credential helpers -----------------------------------------------------------------------

def test_helper_gets_server_url_on_stdin_and_returns_creds(tmp_path, helpers):
    helpers.install("testhelper", {"ghcr.io": ("helper-user", HELPER_SECRET)})
    store = helper_store(tmp_path, helpers, {"credsStore": "testhelper"})
    cred = store.lookup("ghcr.io")
    assert cred == Credential("helper-user", HELPER_SECRET, None,
                              "credential helper 'testhelper'")
    assert helpers.calls() == [{"helper": "docker-credential-testhelper", "argv": ["get"],
                                "stdin": "ghcr.io"}]
    assert HELPER_SECRET in store.secrets()


def test_helper_docker_hub_uses_index_url(tmp_path, helpers):
    helpers.install("testhelper", {DOCKER_HUB_CONFIG_KEY: ("hub-user", HELPER_SECRET)})
    store = helper_store(tmp_path, helpers, {"credsStore": "testhelper"})
    assert store.lookup("registry-1.docker.io").username == "hub-user"
    assert store.lookup("docker.io").username == "hub-user"        # same host: cached
    assert [c["stdin"] for c in helpers.calls()] == [DOCKER_HUB_CONFIG_KEY]


def test_helper_tries_the_address_docker_login_stored(tmp_path, helpers):
    # `docker login https://ghcr.io` with a store writes a placeholder under that exact key
    helpers.install("testhelper", {"https://ghcr.io": ("u", HELPER_SECRET)})
    store = helper_store(tmp_path, helpers,
                         {"credsStore": "testhelper", "auths": {"https://ghcr.io": {"auth": ""}}})
    assert store.lookup("ghcr.io").password == HELPER_SECRET
    assert [c["stdin"] for c in helpers.calls()] == ["https://ghcr.io"]


def test_helper_identity_token(tmp_path, helpers):
    helpers.install("testhelper", {"ghcr.io": ("<token>", "refresh-from-helper")})
    store = helper_store(tmp_path, helpers, {"credsStore": "testhelper"})
    cred = store.lookup("ghcr.io")
    assert (cred.username, cred.password, cred.identity_token) == (None, None,
                                                                   "refresh-from-helper")
    assert "refresh-from-helper" in store.secrets()


def test_helper_called_once_per_host(tmp_path, helpers):
    helpers.install("testhelper", {"ghcr.io": ("u1", "p1"), "quay.io": ("u2", "p2")})
    store = helper_store(tmp_path, helpers, {"credsStore": "testhelper"})
    for _ in range(3):
        assert store.lookup("ghcr.io").username == "u1"
        assert store.lookup("https://quay.io/v2/").username == "u2"
    assert sorted(c["stdin"] for c in helpers.calls()) == ["ghcr.io", "quay.io"]


def test_helper_called_once_under_concurrency(tmp_path, helpers):
    helpers.install("testhelper", {"ghcr.io": ("u1", "p1")})
    helpers.set_mode("sleep")
    store = helper_store(tmp_path, helpers, {"credsStore": "testhelper"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: store.lookup("ghcr.io"), range(16)))
    assert {r.username for r in results} == {"u1"}
    assert len(helpers.calls()) == 1


def test_helper_not_found_is_none_and_cached(tmp_path, helpers):
    helpers.install("testhelper", {})
    store = helper_store(tmp_path, helpers, {"credsStore": "testhelper"},
                         fallback={"ghcr.io": FALLBACK})
    assert store.lookup("quay.io") is None
    assert store.lookup("quay.io") is None
    assert store.lookup("ghcr.io") is FALLBACK         # not found in the store -> fallback
    assert [c["stdin"] for c in helpers.calls()] == ["quay.io", "ghcr.io"]


@pytest.mark.parametrize("mode, fragment", [
    pytest.param("fail", "failed (exit 3)", id="non-zero-exit"),
    pytest.param("badjson", "not a JSON object", id="invalid-json-output"),
])
def test_helper_failure_does_not_leak(tmp_path, helpers, mode, fragment):
    helpers.install("testhelper", {"ghcr.io": ("u", HELPER_SECRET)})
    helpers.set_mode(mode)
    store = helper_store(tmp_path, helpers, {"credsStore": "testhelper"})
    with pytest.raises(RegistryError) as info:
        store.lookup("ghcr.io")
    text = str(info.value)
    assert "docker-credential-testhelper" in text and "ghcr.io" in text and fragment in text
    assert HELPER_STDERR not in text and HELPER_SECRET not in text and "rejected" not in text
    # nothing chained either (a JSONDecodeError would carry the helper's output in .doc)
    assert info.value.__cause__ is None and info.value.__context__ is None
    # the failure is cached: the helper is not run again
    with pytest.raises(RegistryError):
        store.lookup("ghcr.io")
    assert len(helpers.calls()) == 1


def test_helper_timeout(tmp_path, helpers):
    helpers.install("testhelper", {"ghcr.io": ("u", "p")})
    helpers.set_mode("hang")
    store = helper_store(tmp_path, helpers, {"credsStore": "testhelper"}, helper_timeout=0.5)
    with pytest.raises(RegistryError, match=r"timed out after 0\.5s") as info:
        store.lookup("ghcr.io")
    assert info.value.__context__ is None       # TimeoutExpired would carry partial output


def test_helper_that_cannot_be_executed(tmp_path, helpers):
    script = helpers.bin / "docker-credential-broken"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    store = helper_store(tmp_path, helpers, {"credsStore": "broken"})
    with pytest.raises(RegistryError, match=r"could not be run for ghcr\.io"):
        store.lookup("ghcr.io")


@pytest.mark.parametrize("config, setting", [
    pytest.param({"credsStore": "desktop"}, "credsStore", id="credsStore"),
    pytest.param({"credHelpers": {"ghcr.io": "ecr-login"}}, "credHelpers", id="credHelpers"),
])
def test_helper_not_on_path(tmp_path, helpers, config, setting):
    store = helper_store(tmp_path, helpers, config)
    with pytest.raises(RegistryError) as info:
        store.lookup("ghcr.io")
    assert "is not on PATH" in info.value.message and "ghcr.io" in info.value.message
    assert "install docker-credential-" in info.value.hint and setting in info.value.hint


@pytest.mark.parametrize("config, lookup, expected", [
    pytest.param({"credsStore": "storehelper", "credHelpers": {"ghcr.io": "testhelper"}},
                 "ghcr.io", "credential helper 'testhelper'", id="credHelpers-beats-credsStore"),
    pytest.param({"credsStore": "storehelper", "credHelpers": {"ghcr.io": "testhelper"}},
                 "quay.io", "credential helper 'storehelper'", id="credsStore-for-other-hosts"),
    pytest.param({"credHelpers": {"https://ghcr.io": "testhelper"}},
                 "ghcr.io", "credential helper 'testhelper'", id="credHelpers-key-normalised"),
    pytest.param({"credHelpers": {"ghcr.io": "testhelper"},
                  "auths": {"ghcr.io": {"auth": b64("file:pw")}}},
                 "ghcr.io", "credential helper 'testhelper'", id="credHelpers-beats-auths"),
    pytest.param({"credsStore": "storehelper", "auths": {"ghcr.io": {"auth": b64("file:pw")}}},
                 "ghcr.io", "the config.json auth for ghcr.io", id="auths-creds-beat-credsStore"),
    pytest.param({"credsStore": "storehelper", "auths": {"ghcr.io": {"auth": ""}}},
                 "ghcr.io", "credential helper 'storehelper'", id="placeholder-defers-to-store"),
    pytest.param({"credHelpers": {"ghcr.io": "testhelper"}},
                 "quay.io", None, id="credHelpers-only-for-its-host"),
])
def test_helper_precedence(tmp_path, helpers, config, lookup, expected):
    pairs = {"ghcr.io": ("u", "p"), "quay.io": ("u", "p")}
    helpers.install("testhelper", pairs)
    helpers.install("storehelper", pairs)
    store = helper_store(tmp_path, helpers, config)
    cred = store.lookup(lookup)
    assert (cred.source if cred else None) == expected


# --- broken config ------------------------------------------------------------------------------

def test_invalid_json_names_file_and_line(tmp_path):
    text = '{\n  "auths": {\n    "ghcr.io": {"auth": "c2VjcmV0"}\n    "quay.io": {}\n  }\n}\n'
    store = store_for(tmp_path, text)
    with pytest.raises(InputError) as info:
        store.lookup("ghcr.io")
    err = info.value
    assert err.exit_code == 2
    assert str(tmp_path / "docker" / "config.json") in err.message
    assert "line 4" in err.message
    assert err.hint
    assert "c2VjcmV0" not in str(err)
    assert err.__context__ is None              # a JSONDecodeError would carry the text in .doc


@pytest.mark.parametrize("auth, reason", [
    pytest.param("!!!not-base64!!!", "not base64", id="not-base64"),
    pytest.param(b64("no-colon-here"), "no ':'", id="no-colon"),
    pytest.param(base64.b64encode(b"\xff\xfe:x").decode(), "not base64 of UTF-8", id="not-utf8"),
])
def test_invalid_auth_value(tmp_path, auth, reason):
    store = store_for(tmp_path, {"auths": {"https://ghcr.io": {"auth": auth}}})
    with pytest.raises(InputError) as info:
        store.lookup("ghcr.io")
    text = str(info.value)
    assert "'https://ghcr.io'" in text and reason in text
    assert auth not in text and "no-colon-here" not in text
    assert info.value.__context__ is None


@pytest.mark.parametrize("config", [
    pytest.param("[]", id="not-an-object"),
    pytest.param({"auths": []}, id="auths-not-object"),
    pytest.param({"auths": {"ghcr.io": "x"}}, id="entry-not-object"),
    pytest.param({"credHelpers": {"ghcr.io": 1}}, id="helper-not-string"),
    pytest.param({"credsStore": 1}, id="store-not-string"),
    pytest.param({"auths": {"ghcr.io": {"password": 5}}}, id="password-not-string"),
])
def test_malformed_config(tmp_path, config):
    with pytest.raises(InputError):
        store_for(tmp_path, config).lookup("ghcr.io")


@pytest.mark.parametrize("text", [pytest.param("", id="empty"), pytest.param(" \n", id="blank")])
def test_empty_config_is_no_credentials(tmp_path, text):
    assert store_for(tmp_path, text).lookup("ghcr.io") is None


# --- masking ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cred, visible, hidden", [
    pytest.param(Credential("alice", "hunter2", source="--username"),
                 ["alice", "--username", "'***'"], ["hunter2"], id="password"),
    pytest.param(Credential(None, None, "refresh-tok-123", source="config.json auths"),
                 ["identity_token='***'", "password=None"], ["refresh-tok-123"], id="identity"),
])
def test_repr_masks_secrets(cred, visible, hidden):
    for text in (repr(cred), str(cred), f"{cred}", repr([cred])):
        for v in visible:
            assert v in text
        for h in hidden:
            assert h not in text


@pytest.mark.parametrize("cred, expected", [
    pytest.param(Credential("alice", "hunter2"), {"hunter2", b64("alice:hunter2")}, id="basic"),
    pytest.param(Credential("alice", "pw", "tok"), {"pw", "tok", b64("alice:pw")}, id="both"),
    pytest.param(Credential(None, None, "tok"), {"tok"}, id="identity-only"),
    pytest.param(Credential("alice"), set(), id="no-secret"),
])
def test_credential_secrets(cred, expected):
    assert set(cred.secrets) == expected


def test_store_secrets_collects_handed_out_secrets(tmp_path):
    store = store_for(tmp_path, {"auths": {"ghcr.io": {"auth": b64("a:cfg-pw")},
                                           "quay.io": {"auth": b64("b:unused-pw")}}},
                      explicit={"docker.io": EXPLICIT})
    assert store.secrets() == set(EXPLICIT.secrets)
    store.lookup("ghcr.io")
    assert {"cfg-pw", b64("a:cfg-pw")} <= store.secrets()
    assert "unused-pw" not in store.secrets()
    store.secrets().clear()                      # a copy
    assert "cfg-pw" in store.secrets()
