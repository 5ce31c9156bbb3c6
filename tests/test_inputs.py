"""What nnexam reads: usage errors as one line; inputs under a size limit; ids that differ only in
case or Unicode form refused together; length limits; grading input from several files or a
folder; columns that name no question; files with no answers."""

from __future__ import annotations

import pytest

from nnexam.cli import cli


# --- one error style --------------------------------------------------------------------------


@pytest.mark.parametrize("args, where", [
    (["generate", "--students"], "nnexam generate"),
    (["generate", "--seed", "x", "--students", "0"], "nnexam generate"),
    (["generate", "--seed", "x"], "nnexam generate"),  # raised by the command itself
    (["grade"], "nnexam grade"),
    (["--frob"], "nnexam"),
    (["frob"], "nnexam"),
    (["solve", "--format", "yaml", "x.toml"], "nnexam solve"),
])
def test_usage_errors_are_one_line_with_a_pointer_to_help(runner, args, where):
    r = runner.invoke(cli, args, prog_name="nnexam")
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr  # today: Usage:, Try ..., a blank line and Error: ...
    assert lines[0].startswith("nnexam: error: ") and lines[0].endswith(f"(see '{where} --help')")
    assert r.stdout == ""
