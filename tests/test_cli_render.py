"""`nnexam render` remembers generate's PDF options, and `--student ID` rebuilds one student's files only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnexam.cli import cli

pypdf = pytest.importorskip("pypdf")

# Page sizes in PDF points: ISO 216 A4 is 210 x 297 mm, US Letter 8.5 x 11 in.
A4 = (round(210 / 25.4 * 72), round(297 / 25.4 * 72))
LETTER = (612, 792)


def page_size(path: Path) -> tuple[int, int]:
    box = pypdf.PdfReader(path).pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


def run(runner, *args, code=0):
    result = runner.invoke(cli, list(map(str, args)))
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def letter_exam(runner, tmp_path):
    out = tmp_path / "exam"
    run(runner, "generate", "--seed", "r", "--students", "3", "--paper", "letter", "--title", "Quiz 3",
        "--no-pdf", "--out", out)
    return out


def test_generate_records_the_paper_in_the_manifest(letter_exam):
    header = json.loads((letter_exam / "manifest.json").read_text(encoding="utf-8"))
    assert header["render"] == {"paper": "letter", "sides": "duplex"} and header["title"] == "Quiz 3"


def test_render_uses_the_recorded_paper_and_title(runner, letter_exam):
    result = run(runner, "render", letter_exam, "--jobs", "1")
    assert "(letter)" in result.stdout
    for pdf in ("sheets/s001.pdf", "keys/s003.pdf", "sheets.pdf", "keys.pdf"):
        assert page_size(letter_exam / pdf) == LETTER, pdf
    assert "Quiz 3" in pypdf.PdfReader(letter_exam / "sheets/s001.pdf").pages[0].extract_text()


def test_options_on_the_command_line_override(runner, letter_exam):
    run(runner, "render", letter_exam, "--paper", "a4", "--title", "Retake", "--jobs", "1")
    assert page_size(letter_exam / "keys/s002.pdf") == A4
    assert "Retake" in pypdf.PdfReader(letter_exam / "sheets/s001.pdf").pages[0].extract_text()
    # Overriding is for this run: the manifest still says letter.
    assert json.loads((letter_exam / "manifest.json").read_text(encoding="utf-8"))["render"] == {"paper": "letter", "sides": "duplex"}


def test_a_manifest_without_render_options_still_loads_and_renders_on_a4(runner, letter_exam):
    path = letter_exam / "manifest.json"
    d = json.loads(path.read_text(encoding="utf-8"))
    del d["render"]
    path.write_text(json.dumps(d), encoding="utf-8")
    run(runner, "render", letter_exam, "--jobs", "1", "--student", "s001")
    assert page_size(letter_exam / "sheets/s001.pdf") == A4


@pytest.mark.parametrize("render, message", [
    ('"letter"', "key 'render' must be an object"),
    ('{"paper": "a3"}', 'render.paper must be one of a4, letter, got "a3"'),
])
def test_bad_recorded_options_are_one_line(runner, letter_exam, render, message):
    path = letter_exam / "manifest.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"render": {\n  "paper": "letter",\n  "sides": "duplex"\n }', f'"render": {render}'),
                    encoding="utf-8")
    result = run(runner, "render", letter_exam, code=2)
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_render_student_rebuilds_that_students_sheet_and_key_only(runner, tmp_path):
    out = tmp_path / "exam"
    run(runner, "generate", "--seed", "r", "--students", "3", "--paper", "letter", "--out", out, "--jobs", "1")
    before = {p: p.read_bytes() for p in out.rglob("*.pdf")}
    stamps = {p: p.stat().st_mtime_ns for p in before}
    (out / "sheets/s002.pdf").unlink()
    (out / "keys/s002.pdf").unlink()
    result = run(runner, "render", out, "--student", "s002")
    assert "sheets/s002.pdf, keys/s002.pdf" in result.stdout and "not rebuilt" in result.stdout
    # The two files again, as generate made them (same bytes, same paper); nothing else touched.
    for p in (out / "sheets/s002.pdf", out / "keys/s002.pdf"):
        assert p.read_bytes() == before[p] and page_size(p) == LETTER
    untouched = [p for p in before if p.name != "s002.pdf"]
    assert len(untouched) == 6 and all(p.stat().st_mtime_ns == stamps[p] for p in untouched)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.name.startswith(".")) == [".nnexam-files"]


def test_render_student_refuses_to_overwrite_and_unknown_ids(runner, tmp_path):
    out = tmp_path / "exam"
    run(runner, "generate", "--seed", "r", "--students", "3", "--out", out, "--jobs", "1")
    result = run(runner, "render", out, "--student", "s001", code=2)
    assert result.stderr == f"nnexam: error: {out / 'sheets/s001.pdf'}: exists (2 PDFs would be overwritten; use --force)\n"
    result = run(runner, "render", out, "--student", "s9", code=2)
    assert result.stderr == f"nnexam: error: {out / 'manifest.json'}: no student 's9' (ids: s001, s002, s003)\n"
    key = (out / "keys/s001.pdf").read_bytes()
    run(runner, "render", out, "--student", "s001", "--student", "s003", "--force", "--paper", "letter")
    assert page_size(out / "keys/s001.pdf") == LETTER and page_size(out / "keys/s002.pdf") == A4
    assert (out / "keys/s001.pdf").read_bytes() != key


def test_render_remembers_simplex_and_duplex_overrides(runner, tmp_path):
    out = tmp_path / "simplex"
    run(runner, "generate", "--seed", "r", "--students", "2", "--simplex", "--no-pdf", "--out", out)
    run(runner, "render", out, "--jobs", "1")
    per_student = [len(pypdf.PdfReader(out / f"keys/s00{i}.pdf").pages) for i in (1, 2)]
    assert len(pypdf.PdfReader(out / "keys.pdf").pages) == sum(per_student)  # as recorded: no blank pages
    run(runner, "render", out, "--jobs", "1", "--duplex", "--force")
    assert len(pypdf.PdfReader(out / "keys.pdf").pages) == sum(n + n % 2 for n in per_student)
