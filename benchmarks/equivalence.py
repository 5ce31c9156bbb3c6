"""Grading outputs before and after a speed change: `python benchmarks/equivalence.py --save FILE` on the
old code, `python benchmarks/equivalence.py --check FILE` on the new one (exit 1 when any file differs).

A messy class per bank (20,000 students of classic by default, 3,000 of each other bank), every
answer kind the marker distinguishes: exact, rounded and truncated chains, a wrong value carried
through, each named mistake, a swapped operand and a dropped factor (substitutions), noise, blanks,
a decimal comma, an exponent, a typo. `nnexam grade` runs through the CLI in this process; the
SHA-256 of grades.csv, every feedback file, canvas.csv, moodle.csv and of the generated exam
(manifest.json, answer_key.csv) is recorded per bank. Run the old code without installing it:
`PYTHONPATH=OLD/src python benchmarks/equivalence.py --save before.json`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from nnexam.bank import load_bank
from nnexam.cli import cli
from nnexam.files import write_atomic
from nnexam.generate import answer_key, class_ids, generate
from nnexam.mistakes import applicable
from nnexam.solve import evaluate, evaluate_step

BANKS = {"classic": 20_000, "bce-2-2-1": 3_000, "softmax-2-3-2": 3_000, "relu-3-2-1": 3_000}
KINDS = 16


def messy_rows(manifest) -> list[list[str]]:
    """Submission rows: KINDS kinds of students, by student index modulo KINDS."""
    graph, qs = manifest.graph, manifest.questions
    n = len(manifest.students)
    givens = manifest.givens()
    kind = np.arange(n) % KINDS
    rng = np.random.default_rng(12345)
    exact = evaluate(graph, givens)
    values = np.column_stack([np.broadcast_to(exact[q.name], (n,)) for q in qs]).astype(float)
    for k, op in ((1, np.round), (2, np.trunc)):  # rounded / truncated chains at 4 decimals
        rows = np.flatnonzero(kind == k)
        env = {name: np.broadcast_to(v, (n,))[rows] for name, v in givens.items()}
        for step in graph.steps:
            env[step.name] = op(np.broadcast_to(evaluate_step(step.expr, env), rows.shape) * 1e4) / 1e4
        for qi, q in enumerate(qs):
            values[rows, qi] = env[q.name]
    rows = np.flatnonzero(kind == 3)  # the first asked step wrong by 0.03, the rest computed from it
    first = qs[0].name
    chain = evaluate(graph, {g: np.broadcast_to(v, (n,))[rows] for g, v in givens.items()},
                     fixed={first: np.broadcast_to(exact[first], (n,))[rows] + 0.03})
    for qi, q in enumerate(qs):
        values[rows, qi] = chain[q.name]
    rows = np.flatnonzero(kind == 4)  # each named mistake in turn
    for mi, m in enumerate(applicable(graph)):
        sub = rows[rows // KINDS % max(1, len(applicable(graph))) == mi]
        chain = evaluate(graph, {g: np.broadcast_to(v, (n,))[sub] for g, v in givens.items()}, mistake=m)
        for qi, q in enumerate(qs):
            values[sub, qi] = chain[q.name]
    # Substitution-like slips: one answer replaced by its neighbour column, or halved, or negated.
    for k, f in ((5, lambda c, i: c[:, (i + 1) % c.shape[1]]), (6, lambda c, i: 0.5 * c[:, i]), (7, lambda c, i: -c[:, i])):
        rows = np.flatnonzero(kind == k)
        col = rng.integers(0, len(qs), len(rows))
        block = values[rows]
        for r, i in enumerate(col.tolist()):
            values[rows[r], i] = f(block[r:r + 1], i)[0]
    rows = np.flatnonzero(kind == 8)  # noise: several answers off by a few percent
    noise = 1 + rng.normal(0, 0.03, (len(rows), len(qs))) * (rng.random((len(rows), len(qs))) < 0.3)
    values[rows] *= noise
    rows = np.flatnonzero(kind == 9)  # wildly wrong or absurd values
    mask = rng.random((len(rows), len(qs))) < 0.2
    values[rows] = np.where(mask, rng.normal(0, 3, (len(rows), len(qs))), values[rows])
    text = [[f"{v:.4f}" for v in col] for col in values.T.tolist()]
    for r in np.flatnonzero(kind == 10).tolist():  # ran out of time
        for qi in range(len(qs) // 2, len(qs)):
            text[qi][r] = ""
    for r in np.flatnonzero(kind == 11).tolist():
        text[0][r] = text[0][r].replace(".", ",")  # a decimal comma
        text[min(5, len(qs) - 1)][r] = "0.1O"  # a letter O for a zero
        text[1][r] = f"{float(text[1][r]):.6e}"  # an exponent
        text[2][r] = f"  {text[2][r]} "  # spaces
    for r in np.flatnonzero(kind == 12).tolist():  # more decimals than asked, fewer
        text[3][r] = f"{values[r, 3]:.7f}"
        text[4][r] = f"{values[r, 4]:.2f}"
    out = [["student_id", "variant"] + [q.label for q in qs]]
    for i, s in enumerate(manifest.students):
        if kind[i] == 13 and i % 3 == 0:
            continue  # did not submit
        out.append([s.id, s.variant] + [col[i] for col in text])
    out.append(["nobody", "x"] + ["1"] * len(qs))  # an unknown id
    return out


def digests(banks: dict[str, int]) -> dict[str, dict[str, str]]:
    """{bank: {output file: sha256}} of `nnexam grade` on each bank's messy class."""
    out: dict[str, dict[str, str]] = {}
    for name, students in banks.items():
        with tempfile.TemporaryDirectory(prefix="nnexam-equiv-") as tmp:
            root = Path(tmp)
            manifest = generate(load_bank(name), "equivalence", class_ids(students))
            write_atomic(root / "exam" / "manifest.json", manifest.to_json())
            with open(root / "answers.csv", "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(messy_rows(manifest))
            result = CliRunner().invoke(cli, ["grade", str(root / "exam"), str(root / "answers.csv"),
                                              "--out", str(root / "grades"), "--no-report"])
            if result.exit_code not in (0, 1):
                raise RuntimeError(f"{name}: {result.output}{result.exception!r}")
            write_atomic(root / "grades" / "exam" / "answer_key.csv", answer_key(manifest))
            (root / "exam" / "manifest.json").replace(root / "grades" / "exam" / "manifest.json")
            # .nnexam-files lists the feedback files in the order the parallel workers wrote them: not an output
            files = sorted(p for p in (root / "grades").rglob("*") if p.is_file() and p.name != ".nnexam-files")
            out[name] = {str(p.relative_to(root / "grades")): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
            print(f"{name}: {students:,} students, {len(files):,} files", file=sys.stderr)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path, help="write the digests to this JSON file")
    g.add_argument("--check", type=Path, help="compare with the digests in this JSON file")
    args = ap.parse_args()
    now = digests(BANKS)
    if args.save:
        args.save.write_text(json.dumps(now, indent=1, sort_keys=True))
        print(f"saved {sum(map(len, now.values())):,} digests to {args.save}")
        return 0
    before = json.loads(args.check.read_text())
    bad = [(b, f) for b in sorted(set(before) | set(now))
           for f in sorted(set(before.get(b, {})) | set(now.get(b, {})))
           if before.get(b, {}).get(f) != now.get(b, {}).get(f)]
    for b, f in bad[:20]:
        print(f"differs: {b}/{f}")
    print(f"{'DIFFERENT' if bad else 'identical'}: {len(bad)} of {sum(map(len, now.values())):,} files differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
