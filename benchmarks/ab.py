"""Before/after on a shared machine: `python benchmarks/ab.py OLD_SRC [STUDENTS] [ROUNDS]`.

OLD_SRC is another nnexam source tree (say `git archive 3013aab src | tar -x -C /tmp/old`, then
/tmp/old/src). Each round runs, in fresh processes and alternating old and new (the order swapped
every round), `generate` without PDFs and `grade()` (marking alone, the exam and the submissions
already read), both in CPU seconds of the process (time.process_time: other jobs on the machine
barely change it), and the whole `nnexam grade` through the CLI in wall seconds (its feedback
workers are other processes), on one class of STUDENTS (default 100,000) with bench_grade's
synthetic submissions. The medians of the new/old ratios are printed last.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW_SRC = HERE.parent / "src"

_CHILD = r"""
import gc, sys, time
from pathlib import Path
root = Path(sys.argv[1])
from nnexam.bank import load_bank
from nnexam.generate import class_ids, generate
from nnexam.manifest import load_manifest
from nnexam.grade import grade, read_submissions
from nnexam.cli import cli
from click.testing import CliRunner
t = time.process_time(); generate(load_bank("classic"), "ab", class_ids(int(sys.argv[2]))); gen = time.process_time() - t
manifest = load_manifest(root / "exam")
subs = read_submissions((root / "answers.csv").read_bytes(), manifest)
gc.disable()
t = time.process_time(); grade(manifest, subs); marking = time.process_time() - t
gc.enable()
del manifest, subs
t = time.perf_counter()
r = CliRunner().invoke(cli, ["grade", str(root / "exam"), str(root / "answers.csv"), "--out", str(root / "g"), "--force"])
whole = time.perf_counter() - t
assert r.exit_code in (0, 1), r.output
print(gen, marking, whole)
"""


def _run(src: Path, root: Path, students: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(root), str(students)], env=env,
                         capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def main() -> int:
    old = Path(sys.argv[1]).resolve()
    students = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    sys.path.insert(0, str(HERE))
    import bench_grade
    from nnexam.bank import load_bank
    from nnexam.files import write_atomic
    from nnexam.generate import class_ids, generate

    with tempfile.TemporaryDirectory(prefix="nnexam-ab-") as tmp:
        root = Path(tmp)
        manifest = generate(load_bank("classic"), "2026", class_ids(students))
        write_atomic(root / "exam" / "manifest.json", manifest.to_json())
        with open(root / "answers.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(bench_grade.synthetic_rows(manifest))
        del manifest
        print(f"{students:,} students, load average before: {os.getloadavg()[0]:.2f}")
        labels = ("generate (CPU s)", "grade() (CPU s)", "nnexam grade (wall s)")
        ratios: list[list[float]] = [[], [], []]
        for k in range(rounds):
            order = [("old", old), ("new", NEW_SRC)][:: 1 if k % 2 == 0 else -1]
            got = {name: _run(src, root, students) for name, src in order}
            parts = "; ".join(f"{lab} {got['old'][j]:.2f} -> {got['new'][j]:.2f} ({got['new'][j] / got['old'][j]:.2f}x)"
                              for j, lab in enumerate(labels))
            print(f"round {k + 1} (load {os.getloadavg()[0]:.2f}): {parts}")
            for j in range(3):
                ratios[j].append(got["new"][j] / got["old"][j])
        print("median new/old: " + "; ".join(f"{lab} {sorted(r)[len(r) // 2]:.2f}x" for lab, r in zip(labels, ratios)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
