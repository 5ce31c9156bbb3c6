"""Bundled banks and examples in reach of a wheel user: `banks` (list), `banks show`, `banks copy`, `solve NAME`."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnexam.bank import load_bank
from nnexam.cli import cli
from nnexam.generate import class_ids, generate

# The source tree's bundled files, read directly (not through nnexam's lookup).
PROBLEM_BANKS = Path(__file__).resolve().parent.parent / "problem_banks"
BANK_NAMES = sorted(p.stem for p in PROBLEM_BANKS.glob("*.toml"))
EXAMPLE_NAMES = sorted(p.stem for p in (PROBLEM_BANKS / "examples").glob("*.toml"))


def test_banks_lists_every_bank_as_before_and_names_the_examples(runner):
    plain, listed = runner.invoke(cli, ["banks"]), runner.invoke(cli, ["banks", "list"])
    assert plain.exit_code == listed.exit_code == 0 and plain.stdout == listed.stdout
    firsts = [line.split()[0] for line in plain.stdout.splitlines() if not line.startswith(" ")]
    assert firsts[:-1] == BANK_NAMES
    assert plain.stdout.splitlines()[-1] == f"examples (nnexam solve NAME): {', '.join(EXAMPLE_NAMES)}"


@pytest.mark.parametrize("name", BANK_NAMES)
def test_banks_show_prints_the_bundled_toml(runner, name):
    result = runner.invoke(cli, ["banks", "show", name])
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == (PROBLEM_BANKS / f"{name}.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["banks", "show", "nope"], "nope: not a bundled bank (bundled: bce-2-2-1, classic,"),
    (["banks", "copy", "nope"], "nope: not a bundled bank (bundled: bce-2-2-1, classic,"),
    (["banks", "show", "mazur_2-2-2"], "mazur_2-2-2: a bundled example spec, not a bank (solve it with `nnexam solve mazur_2-2-2`)"),
    (["solve", "nope"], "nope: no such spec file, and not a bundled example (bundled: bits_2-2-2, esuli_3-2-1, mazur_2-2-2)"),
])
def test_unknown_names_are_one_line_naming_the_bundled_ones(runner, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and result.stdout == "" and list(tmp_path.iterdir()) == []
    assert result.stderr.startswith(f"nnexam: error: {message}") and result.stderr.count("\n") == 1


def test_banks_copy_writes_an_editable_copy_that_draws_the_same_exam(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["banks", "copy", "classic"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("wrote classic.toml: edit its title")
    text = (tmp_path / "classic.toml").read_text(encoding="utf-8")
    note, _, rest = text.partition("\n\n")
    assert all(line.startswith("# ") for line in note.splitlines()) and "[draws]" in note and "[[tasks]]" in note
    assert "nnexam generate classic.toml --seed SEED --students N" in note
    assert rest == (PROBLEM_BANKS / "classic.toml").read_text(encoding="utf-8")
    # The copy is the same bank: the same seed draws the same numbers as the bundled one.
    copy, bundled = load_bank(str(tmp_path / "classic.toml")), load_bank("classic")
    ids = class_ids(5)
    assert generate(copy, "s", ids).table.tolist() == generate(bundled, "s", ids).table.tolist()
    # ... and it is editable: a changed title is the new bank's title.
    (tmp_path / "classic.toml").write_text(text.replace('title = "Backpropagation by hand', 'title = "Quiz 3'), encoding="utf-8")
    assert load_bank(str(tmp_path / "classic.toml")).title.startswith("Quiz 3")


def test_banks_copy_refuses_to_overwrite_without_force(runner, tmp_path):
    dest = tmp_path / "mine.toml"
    dest.write_text("# my edits\n", encoding="utf-8")
    result = runner.invoke(cli, ["banks", "copy", "relu-3-2-1", str(dest)])
    assert result.exit_code == 1 and result.stderr == f"nnexam: error: {dest}: exists (use --force to overwrite)\n"
    assert dest.read_text(encoding="utf-8") == "# my edits\n"
    result = runner.invoke(cli, ["banks", "copy", "relu-3-2-1", str(dest), "--force"])
    assert result.exit_code == 0 and load_bank(str(dest)).arch.activations == ("relu", "sigmoid")


def test_banks_copy_into_a_folder(runner, tmp_path):
    result = runner.invoke(cli, ["banks", "copy", "softmax-2-3-2", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert load_bank(str(tmp_path / "softmax-2-3-2.toml")).arch.layers == (2, 3, 2)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
@pytest.mark.parametrize("args", [[], ["--steps"], ["--format", "json"]])
def test_solve_takes_a_bundled_example_by_name(runner, tmp_path, monkeypatch, name, args):
    monkeypatch.chdir(tmp_path)  # not found beside the user's files: found among the bundled examples
    by_name = runner.invoke(cli, ["solve", name, *args])
    by_path = runner.invoke(cli, ["solve", str(PROBLEM_BANKS / "examples" / f"{name}.toml"), *args])
    assert by_name.exit_code == by_path.exit_code == 0 and by_name.stdout == by_path.stdout != ""


def test_a_spec_file_beats_a_bundled_example_of_the_same_name(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = (PROBLEM_BANKS / "examples" / "mazur_2-2-2.toml").read_text(encoding="utf-8")
    Path("mazur_2-2-2.toml").write_text(spec.replace("0.15", "0.95", 1), encoding="utf-8")
    mine = runner.invoke(cli, ["solve", "mazur_2-2-2.toml"]).stdout
    bundled = runner.invoke(cli, ["solve", "mazur_2-2-2"]).stdout
    assert mine != bundled and "0.3775" in bundled


def test_banks_copy_into_a_new_folder_named_with_a_slash_and_unwritable_places(runner, tmp_path):
    result = runner.invoke(cli, ["banks", "copy", "classic", f"{tmp_path / 'mine'}/"])
    assert result.exit_code == 0 and (tmp_path / "mine" / "classic.toml").is_file()
    (tmp_path / "file").write_text("x")
    result = runner.invoke(cli, ["banks", "copy", "classic", str(tmp_path / "file" / "sub.toml")])
    assert result.exit_code == 1 and result.stderr.startswith(f"nnexam: error: {tmp_path / 'file' / 'sub.toml'}: cannot write")
    assert "Traceback" not in result.output


def test_banks_copy_never_overwrites_the_bundled_bank_itself(runner, tmp_path, monkeypatch):
    # today: `banks copy classic <its own folder> --force` wrote the note into the bundled classic.toml
    # (here a stand-in for the installed bank, so that a failure cannot change the real one)
    from nnexam import cli as cli_module

    source = tmp_path / "installed" / "classic.toml"
    source.parent.mkdir()
    source.write_bytes(cli_module._bundled_bank("classic").read_bytes())
    monkeypatch.setattr(cli_module, "_bundled_bank", lambda name: source)
    before = source.read_bytes()
    for dest in (str(source.parent), str(source)):
        result = runner.invoke(cli, ["banks", "copy", "classic", dest, "--force"])
        assert result.exit_code == 2 and "is the bundled bank 'classic' itself" in result.stderr, result.output
        assert source.read_bytes() == before
