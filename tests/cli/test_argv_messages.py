"""What the command line says about what was typed (issue 19, "Secrets and messages"): a password in argv is
refused and never echoed; manifest-tool's global flags are read where manifest-tool puts them, or refused
naming ours; typos (an unknown architecture, a URL scheme, --tag) are caught before any wait or request;
each command's --help says what it does and shows an example."""
from __future__ import annotations

import base64
import json
import secrets
import string
import time

import pytest

import mm_images
from mm_cli import docker_config, one_error, run_cli, succeeded
from mm_runner import log_mark, requests_since
from multiarch_ci.core.platform import Platform
from multiarch_ci.frontends.cli import ABOUT, build_parser
from multiarch_ci.sources.kinds import KINDS


def github_token() -> str:
    """A token as `gh auth token` prints one: ghp_ and 36 letters and digits."""
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


def ecr_password() -> str:
    """What `aws ecr get-login-password` prints: a long base64 JSON blob."""
    blob = json.dumps({"payload": secrets.token_urlsafe(96), "datakey": secrets.token_urlsafe(48), "version": "2"})
    return base64.b64encode(blob.encode()).decode()


def nowhere(run, secret: str) -> None:
    """The secret, any part of it that could identify it, and its base64 appear in no output."""
    text = run.out + run.err
    assert secret not in text and secret[4:24] not in text, text
    assert base64.b64encode(secret.encode()).decode() not in text


def from_args(reg, repo: str) -> list[str]:
    return ["push", "from-args", "--platforms", "linux/amd64", "--template", f"{reg.host}/{repo}-ARCH:v1",
            "--target", f"{reg.host}/{repo}:v1", "--wait-timeout", "0"]


# -- 1. a password on the command line ----------------------------------------------------------------

PASSWORD_CASES = [   # where the user typed it: @ is the form and its own args, {S} the secret
    pytest.param(["--username", "bob", "--password", "{S}", "@"], id="manifest-tool-before-push"),
    pytest.param(["--password={S}", "@"], id="equals-before-push"),
    pytest.param(["@", "--password", "{S}"], id="after-the-form"),
    pytest.param(["@", "--password={S}", "--username", "bob"], id="equals-after-the-form"),
    pytest.param(["@", "-p", "{S}"], id="docker-login-short"),
    pytest.param(["@", "-p{S}"], id="short-glued"),
    pytest.param(["-password", "{S}", "@"], id="go-single-dash"),
    pytest.param(["@", "--bogus", "x", "--password", "{S}"], id="with-an-unknown-argument"),
    pytest.param(["--password", "{S}", "@", "--bogus"], id="before-push-with-an-unknown-argument"),
    pytest.param(["--debug", "@", "--password", "{S}"], id="with-debug"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize("secret", [github_token(), ecr_password()], ids=["github-token", "ecr-password"])
@pytest.mark.parametrize("words", PASSWORD_CASES)
def test_a_password_in_argv_is_refused_unread_and_never_echoed(registry, repo_name, words, secret):
    form = from_args(registry, repo_name)
    argv = [x for w in words for x in (form if w == "@" else [w.replace("{S}", secret)])]
    mark = log_mark(registry)
    run = run_cli(*argv)
    if "--debug" in argv:   # a traceback too (debug output on), and still no value
        assert run.code == 2 and "--debug" in argv, run.err
        line = run.err_lines[-1]
    else:
        line = one_error(run, 2)
    assert "--password-stdin" in line and "a password on the command line is not read" in line, line
    nowhere(run, secret)
    assert requests_since(registry, mark) == []


@pytest.mark.bad_input
def test_inspect_with_a_password_is_refused_the_same(registry, repo_name):
    secret = github_token()
    run = run_cli("inspect", f"{registry.host}/{repo_name}:v1", "--username", "bob", "--password", secret)
    assert "--password-stdin" in one_error(run, 2)
    nowhere(run, secret)


@pytest.mark.bad_input
@pytest.mark.parametrize("word", ["--passwd", "--registry-token", "--secret"])
@pytest.mark.parametrize("glued", [False, True], ids=["spaced", "equals"])
def test_an_unknown_option_named_like_a_secret_never_echoes_its_value(registry, repo_name, word, glued):
    secret = github_token()
    extra = [f"{word}={secret}"] if glued else [word, secret]
    run = run_cli(*from_args(registry, repo_name), *extra)
    line = one_error(run, 2)
    assert "unrecognized arguments" in line and word in line and "***" in line, line
    nowhere(run, secret)


# -- 2. manifest-tool's global flags, before `push` -------------------------------------------------------

def test_manifest_tool_global_flags_before_push_mean_ours(tls_registry, repo_name, tmp_path):
    """`--insecure` (TLS unverified: no CA given), `--debug` and `--username` where manifest-tool puts them."""
    reg = tls_registry
    img = mm_images.push_image(reg, f"{repo_name}-amd64", "v1", arch="amd64")
    run = run_cli("--insecure", "--debug", "--username", reg.username, "push", "from-args",
                  "--platforms", "linux/amd64", "--template", f"{reg.host}/{repo_name}-ARCH:v1",
                  "--target", f"{reg.host}/{repo_name}:v1", "--password-stdin", stdin=reg.password + "\n",
                  env={"SSL_CERT_FILE": "", "REQUESTS_CA_BUNDLE": ""})
    succeeded(run)
    assert any(line.startswith("debug: ") for line in run.err_lines), run.err       # --debug was read
    _, index, _ = mm_images.stored_index(reg, repo_name, "v1")
    assert [m["digest"] for m in index["manifests"]] == [img["digest"]]
    assert reg.password not in run.out + run.err


def test_manifest_tool_username_before_push_still_needs_the_password_on_stdin(registry, repo_name):
    line = one_error(run_cli("--username", "bob", *from_args(registry, repo_name)), 2)
    assert "--username needs --password-stdin" in line, line


@pytest.mark.bad_input
@pytest.mark.parametrize("words, names", [
    pytest.param(["--plain-http"], ["--insecure-registry"], id="plain-http"),
    pytest.param(["--docker-cfg", "{tmp}"], ["DOCKER_CONFIG"], id="docker-cfg"),
    pytest.param(["--docker-cfg={tmp}"], ["DOCKER_CONFIG"], id="docker-cfg-equals"),
])
@pytest.mark.parametrize("where", ["before-push", "after-the-form"])
def test_manifest_tool_flags_that_are_not_ours_are_refused_naming_ours(registry, repo_name, tmp_path, words,
                                                                        names, where):
    flags = [w.format(tmp=docker_config(tmp_path / "cfg")) for w in words]
    argv = [*flags, *from_args(registry, repo_name)] if where == "before-push" else \
        [*from_args(registry, repo_name), *flags]
    mark = log_mark(registry)
    line = one_error(run_cli(*argv), 2)
    assert "manifest-tool" in line and all(n in line for n in names), line
    assert "unrecognized arguments" not in line
    assert requests_since(registry, mark) == []


# -- 7. typos caught before waiting ---------------------------------------------------------------------

@pytest.mark.bad_input
@pytest.mark.parametrize("platforms, said, near", [
    pytest.param("linux/amd64,linux/arm46", "unknown architecture 'arm46'", "arm64", id="arm46"),
    pytest.param("linux/amd46", "unknown architecture 'amd46'", "amd64", id="amd46"),
    pytest.param("linux/s309x", "unknown architecture 's309x'", "s390x", id="s309x"),
    pytest.param("linus/amd64", "unknown os 'linus'", "linux", id="os-linus"),
])
def test_an_architecture_no_platform_list_knows_fails_at_once_with_the_nearest(registry, repo_name, platforms,
                                                                               said, near):
    mark = log_mark(registry)
    started = time.monotonic()
    run = run_cli("push", "from-args", "--platforms", platforms, "--template", f"{registry.host}/{repo_name}-ARCH:v1",
                  "--target", f"{registry.host}/{repo_name}:v1", timeout=60)   # the default --wait-timeout: 300 s
    line = one_error(run, 2)
    assert said in line and f"did you mean {near}?" in line, line
    assert time.monotonic() - started < 30
    assert requests_since(registry, mark) == []


@pytest.mark.bad_input
def test_a_spec_platform_with_an_unknown_architecture_names_its_line(registry, repo_name, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"image: {registry.host}/{repo_name}:v1\nmanifests:\n"
                    f"  - image: {registry.host}/{repo_name}:amd64\n    platform: {{os: linux, architecture: amd64}}\n"
                    f"  - image: {registry.host}/{repo_name}:arm\n    platform: {{os: linux, architecture: armhf46}}\n")
    line = one_error(run_cli("push", "from-spec", str(spec), timeout=60), 2)
    assert f"{spec}:6:" in line and "unknown architecture 'armhf46'" in line, line


@pytest.mark.parametrize("text", ["linux/amd64", "linux/arm64/v8", "linux/arm/v7", "linux/arm/v6", "linux/386",
                                  "linux/ppc64le", "linux/s390x", "linux/riscv64", "linux/mips64le",
                                  "linux/mips64", "linux/mipsle", "linux/mips", "linux/loong64", "wasip1/wasm",
                                  "js/wasm", "linux/ppc64", "windows/amd64", "windows(10.0.17763.6054)/amd64",
                                  "windows/arm64", "freebsd/amd64", "darwin/arm64", "linux/x86_64",
                                  "linux/aarch64", "linux/armhf", "linux/i686", "unknown/unknown"])
def test_what_real_images_use_is_known(text):
    assert Platform.parse(text).known(text)


@pytest.mark.bad_input
@pytest.mark.parametrize("option, ref, rest", [
    pytest.param("--target", "http://{H}/{R}:v1", "{H}/{R}:v1", id="target-http"),
    pytest.param("--target", "https://{H}/{R}:v1", "{H}/{R}:v1", id="target-https"),
    pytest.param("--template", "docker://{H}/{R}-ARCH:v1", "{H}/{R}-amd64:v1", id="template-docker"),
    pytest.param("inspect", "http://{H}/{R}:v1", "{H}/{R}:v1", id="inspect-http"),
])
def test_a_ref_with_a_scheme_says_to_drop_it(registry, repo_name, option, ref, rest):
    ref, rest = ref.format(H=registry.host, R=repo_name), rest.format(H=registry.host, R=repo_name)
    args = {"--target": ["--target", ref, "--template", f"{registry.host}/{repo_name}-ARCH:v1"],
            "--template": ["--target", f"{registry.host}/{repo_name}:v1", "--template", ref]}
    argv = ["inspect", ref] if option == "inspect" else \
        ["push", "from-args", "--platforms", "linux/amd64", *args[option]]
    mark = log_mark(registry)
    line = one_error(run_cli(*argv), 2)
    scheme = ref.split("://")[0]
    assert f"a reference has no scheme ({scheme}://)" in line and f"drop it: {rest}" in line, line
    assert "invalid registry host" not in line
    assert requests_since(registry, mark) == []


@pytest.mark.bad_input
@pytest.mark.parametrize("form, typo, meant", [
    pytest.param("from-args", ["--tag", "v2"], "--tags", id="tag"),
    pytest.param("from-args", ["--annotaton", "a=b"], "--annotation", id="annotaton"),
    pytest.param("from-digests", ["--wait-timout", "5"], "--wait-timeout", id="wait-timout"),
    pytest.param("from-matrix", ["--platform", "linux/amd64"], "--platform-filter", id="platform"),
])
def test_an_unknown_push_option_names_the_nearest_and_the_forms_help(registry, repo_name, tmp_path, form, typo,
                                                                     meant):
    (tmp_path / "digests").mkdir()
    (tmp_path / "legs.json").write_text("[]")
    head = {"from-args": ["--platforms", "linux/amd64", "--template", f"{registry.host}/{repo_name}-ARCH:v1"],
            "from-digests": [str(tmp_path / "digests")], "from-matrix": [str(tmp_path / "legs.json")]}[form]
    run = run_cli("push", form, *head, "--target", f"{registry.host}/{repo_name}:v1", *typo)
    line = one_error(run, 2)
    assert f"did you mean {meant}?" in line and f"see multiarch-manifest push {form} --help" in line, line


@pytest.mark.bad_input
def test_an_unknown_option_far_from_any_is_not_guessed(registry, repo_name):
    line = one_error(run_cli(*from_args(registry, repo_name), "--zzz"), 2)
    assert "did you mean" not in line and "see multiarch-manifest push from-args --help" in line, line
    assert "--workers" not in line and "--tags-page-size" not in line     # hidden options are never offered


@pytest.mark.parametrize("command", [["push"], *(["push", k.cli_form] for k in KINDS), ["inspect"]],
                         ids=lambda c: " ".join(c))
def test_each_command_help_has_a_description_and_an_example_that_parses(command):
    run = run_cli(*command, "--help")
    succeeded(run)
    line, example = ABOUT[command[-1]]
    assert line.split(". ")[0] in " ".join(run.out.split()), run.out
    shown = [x.strip() for x in run.out.splitlines() if x.strip().startswith(f"multiarch-manifest {command[0]}")]
    assert shown == [f"multiarch-manifest {example}"], run.out   # on one line, as it is copied
    argv = example.split()
    assert build_parser(argv).parse_args(argv).command == command[0]


def test_the_digests_form_help_says_where_digests_are_looked_for():
    text = " ".join(run_cli("push", "from-digests", "--help").out.split())
    assert "Digests are looked for in --target's repository only" in text and "the legs must push there" in text

