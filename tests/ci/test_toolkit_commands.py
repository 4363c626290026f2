"""The action's two uses of actions-toolkit (frontends/github.Toolkit): masking and outputs, through the
toolkit's command modules as its `core` does, without importing `core` (which imports requests)."""
from __future__ import annotations

import re

from mm_runner import parse_github_output
from multiarch_ci.frontends.github import toolkit


def test_an_output_is_a_heredoc_with_a_fresh_delimiter(tmp_path, monkeypatch):
    out = tmp_path / "github_output"
    out.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    kit = toolkit()
    kit.set_output("tags", "a\nb")
    kit.set_output("digest", "sha256:" + "0" * 64)
    text = out.read_text()
    delimiters = re.findall(r"^\w+<<(ghadelimiter_[0-9a-f-]{36})$", text, re.M)
    assert len(set(delimiters)) == 2                       # one per output, each random
    assert parse_github_output(text) == {"tags": "a\nb", "digest": "sha256:" + "0" * 64}


def test_without_github_output_the_old_set_output_command_is_printed(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    toolkit().set_output("digest", "sha256:" + "1" * 64)
    assert capsys.readouterr().out.strip() == "::set-output name=digest::sha256:" + "1" * 64


def test_a_secret_is_masked_with_add_mask(capsys):
    toolkit().set_secret("s3cr3t-value")
    assert capsys.readouterr().out.strip() == "::add-mask::s3cr3t-value"
