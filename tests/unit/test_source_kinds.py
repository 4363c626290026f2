"""The table of source kinds (sources/kinds.py) is the one list of input forms: the CLI's `push FORM`
subcommands, the action's source inputs and its "exactly one source input" rule all come from it, so a
new kind is a module in sources/, a row, and its input in action.yml."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from multiarch_ci.core.errors import InputError
from multiarch_ci.frontends.action_inputs import INPUT_NAMES, source_input
from multiarch_ci.frontends.argv_screen import FORMS
from multiarch_ci.frontends.cli_parser import build_parser
from multiarch_ci.sources.kinds import FOLDER, KINDS, PATH, TEXT, VALUE

ACTION_INPUTS = yaml.safe_load((Path(__file__).resolve().parents[2] / "action.yml").read_text())["inputs"]


def given(values: dict[str, str]):
    return lambda name: values.get(name, "")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_has_a_cli_form_and_an_action_input_in_action_yml(kind):
    assert kind.action_input in ACTION_INPUTS and kind.action_input in INPUT_NAMES
    assert not kind.companion or (kind.companion in ACTION_INPUTS and kind.companion in INPUT_NAMES)
    assert {kind.cli_gives, kind.action_gives} <= {PATH, TEXT, FOLDER, VALUE}
    assert kind.cli_form in FORMS   # manifest-tool's global flags are moved after it (argv_screen)
    argv = kind.about[1].split()    # the form's --help example parses as that form, its value where the row says
    args = build_parser(argv).parse_args(argv)
    assert (args.command, args.form) == ("push", kind.cli_form)
    assert getattr(args, kind.cli_dest)


def test_the_cli_lists_every_form_of_the_table_and_no_other(capsys):
    with pytest.raises(SystemExit):
        build_parser(["push"]).parse_args(["push", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{" + ",".join(k.cli_form for k in KINDS) + "}" in text
    assert tuple(k.cli_form for k in KINDS) == FORMS


@pytest.mark.parametrize("values, said", [
    ({}, "none"),
    ({k.action_input: "x" for k in KINDS}, ", ".join(k.action_input for k in KINDS)),
], ids=["none", "all"])
def test_the_exactly_one_source_input_message_lists_exactly_the_table_s_inputs(values, said):
    with pytest.raises(InputError) as e:
        source_input(given(values), {})
    listed = re.fullmatch(r"give exactly one source input of (.*) \(given: (.*)\)", e.value.message)
    assert listed, e.value.message
    assert listed[1].split(", ") == [k.action_input for k in KINDS]
    assert listed[2] == said


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_input_alone_chooses_its_kind(kind, tmp_path):
    values = {kind.action_input: str(tmp_path) if kind.action_gives == FOLDER else "x"}
    if kind.companion:
        with pytest.raises(InputError, match=f"input {kind.action_input} needs {kind.companion}"):
            source_input(given(values), {})
        values[kind.companion] = "linux/amd64"
    assert source_input(given(values), {}) is kind
    for other in {k.companion for k in KINDS if k.companion and k.companion != kind.companion}:
        with pytest.raises(InputError, match=f"input {other} goes with .* only"):
            source_input(given(values | {other: "linux/amd64"}), {})
