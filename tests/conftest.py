"""Shared fixtures: a CliRunner and the bundled example specs."""

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

EXAMPLES = Path(__file__).resolve().parent.parent / "problem_banks" / "examples"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


def _read_exam(folder: Path) -> dict:
    """An exam folder as a grader without nnexam sees it: manifest.json, with each student's
    answers (by canonical name) read from answer_key.csv."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    name_of = {q["label"]: q["name"] for q in manifest["questions"]}
    with open(folder / "answer_key.csv", newline="", encoding="utf-8-sig") as f:  # it starts with a BOM, for Excel
        key = {row["student_id"]: row for row in csv.DictReader(f)}
    for s in manifest["students"]:
        s["answers"] = {name_of[label]: float(v) for label, v in key[s["id"]].items() if label in name_of}
    return manifest


@pytest.fixture(scope="session")
def read_exam():
    return _read_exam
