"""Grading and generating at scale: `python benchmarks/bench_grade.py [STUDENTS]` (default 100,000).

1. `generate` for STUDENTS students without PDFs: the API call plus manifest.json,
   submission_template.csv and answer_key.csv written, as `nnexam generate --no-pdf` does.
2. `nnexam grade` on STUDENTS submission rows with every output written (grades.csv, one feedback
   file per student, canvas.csv, moodle.csv, report.pdf), run through the CLI in this process,
   against the floor measured in the same run: reading the same CSV with Python's csv module,
   writing one small text file per student and one CSV of all rows.

The class is synthetic but realistic: per ten students, exact answers, a rounded chain, a truncated
chain, a wrong value carried through, three common mistakes, blanks, a typo, and decimal commas.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from nnexam.bank import load_bank
from nnexam.cli import cli
from nnexam.files import write_atomic
from nnexam.generate import answer_key, class_ids, generate, submission_template
from nnexam.mistakes import BY_NAME
from nnexam.solve import evaluate, evaluate_step

STUDENTS = 100_000
ROUNDS = 3


def synthetic_rows(manifest) -> list[list[str]]:
    """Submission rows for every student: ten kinds of students, built column by column."""
    graph, qs = manifest.graph, manifest.questions
    n = len(manifest.students)
    givens = manifest.givens()
    kind = np.arange(n) % 10
    values = np.empty((n, len(qs)))
    exact = evaluate(graph, givens)
    for qi, q in enumerate(qs):
        values[:, qi] = exact[q.name]
    # Rounded (1) and truncated (2) chains: every step written at 4 decimals and carried on.
    for k, op in ((1, np.round), (2, np.trunc)):
        rows = np.flatnonzero(kind == k)
        env = {name: v[rows] for name, v in givens.items()}
        for step in graph.steps:
            env[step.name] = op(np.broadcast_to(evaluate_step(step.expr, env), rows.shape) * 1e4) / 1e4
        for qi, q in enumerate(qs):
            values[rows, qi] = env[q.name]
    rows = np.flatnonzero(kind == 3)  # out_h1 wrong by 0.03, the rest computed from it
    sub = {name: v[rows] for name, v in givens.items()}
    chain = evaluate(graph, sub, fixed={"a1_1": exact["a1_1"][rows] + 0.03})
    for qi, q in enumerate(qs):
        values[rows, qi] = chain[q.name]
    for k, name in ((4, "error_sign"), (5, "no_activation_derivative"), (6, "plus_update")):
        rows = np.flatnonzero(kind == k)
        chain = evaluate(graph, {g: v[rows] for g, v in givens.items()}, mistake=BY_NAME[name])
        for qi, q in enumerate(qs):
            values[rows, qi] = chain[q.name]
    text = [[f"{v:.4f}" for v in col] for col in values.T.tolist()]
    blank = np.flatnonzero(kind == 7)
    for qi in range(len(qs) // 2, len(qs)):
        for r in blank.tolist():
            text[qi][r] = ""  # ran out of time
    for r in np.flatnonzero(kind == 8).tolist():
        text[0][r] = text[0][r].replace(".", ",")  # a decimal comma
        text[5][r] = "0.1O"  # a letter O for a zero: unreadable
    out = [["student_id", "variant"] + [q.label for q in qs]]
    for i, s in enumerate(manifest.students):
        out.append([s.id, s.variant] + [col[i] for col in text])
    return out


def floor(csv_path: Path, out: Path) -> float:
    """Seconds to read the CSV with the csv module, write a small text file per student and one CSV of all rows."""
    t = time.perf_counter()
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    (out / "feedback").mkdir(parents=True)
    for row in body:
        with open(out / "feedback" / f"{row[0]}.txt", "w", encoding="utf-8") as f:
            f.write("\n".join(f"{h}: {c}" for h, c in zip(header, row)))
    with open(out / "all.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return time.perf_counter() - t


def run(students: int = STUDENTS) -> list[str]:
    """Run both benchmarks; the result lines."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="nnexam-bench-") as tmp:
        root = Path(tmp)
        bank = load_bank("classic")
        exam = root / "exam"
        t = time.perf_counter()
        manifest = generate(bank, "2026", class_ids(students))
        write_atomic(exam / "manifest.json", manifest.to_json())
        write_atomic(exam / "submission_template.csv", submission_template(manifest))
        write_atomic(exam / "answer_key.csv", answer_key(manifest))
        t_gen = time.perf_counter() - t
        lines.append(f"generate --no-pdf, {students:,} students ({len(manifest.questions)} answers each): "
                     f"{t_gen:.1f} s ({1e6 * t_gen / students:.0f} µs per student)")

        rows = synthetic_rows(manifest)
        sub = root / "answers.csv"
        with open(sub, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
        del manifest, rows

        # Floor and nnexam alternate, ROUNDS times: file creation on a shared virtual machine
        # varies several-fold within minutes, so each ratio compares runs made side by side.
        ratios, result = [], None
        for k in range(ROUNDS):
            t_floor = floor(sub, root / "floor")
            shutil.rmtree(root / "floor")
            t = time.perf_counter()
            result = CliRunner().invoke(cli, ["grade", str(exam), str(sub), "--out", str(root / "grades"), "--force"])
            t_grade = time.perf_counter() - t
            if result.exit_code not in (0, 1):
                raise RuntimeError(result.output + str(result.exception))
            shutil.rmtree(root / "grades")
            ratios.append(t_grade / t_floor)
            lines.append(f"round {k + 1}: grade, {students:,} rows, every output written: {t_grade:.1f} s; "
                         f"floor (csv read + a text file per student + one CSV): {t_floor:.1f} s; ratio {t_grade / t_floor:.2f}x")
        lines.append(f"ratio, median of {ROUNDS} rounds: {sorted(ratios)[len(ratios) // 2]:.2f}x (goal: within 2x)")
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        lines.append(f"  nnexam said: {summary[:160]}")
    return lines


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else STUDENTS
    for line in run(n):
        print(line)
