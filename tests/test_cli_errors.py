"""`fagui` at its edge: bad input (`corpus.errors.UsageError`) is a one-line message and exit
code 2; any other exception is an internal error — its traceback and exit code 1 — so a bug
never looks like a mistake of the user's (issue 15)."""
from __future__ import annotations

import pytest

from assistant import cli
from corpus.errors import UsageError


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CI", "true")


def test_bad_input_is_a_usage_error_with_exit_code_2(capsys):
    assert cli.main(["collection", "no/such name"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: invalid collection name 'no/such name'") and "Traceback" not in err


def test_a_bug_is_an_internal_error_with_its_traceback(monkeypatch, capsys):
    def broken(args):
        return int("not a number")  # a ValueError from inside the product, not from the user

    monkeypatch.setattr(cli, "cmd_collection", broken)
    assert cli.main(["collection", "default"]) == cli.EXIT_FAILURES
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "int(\"not a number\")" in err
    assert "internal error (a bug in fagui, not in your input): ValueError: invalid literal for int()" in err


def test_usage_error_is_still_a_value_error():
    """Callers that catch ValueError for bad input (the app's handlers) keep working."""
    assert issubclass(UsageError, ValueError)
