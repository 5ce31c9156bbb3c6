"""The command line: parses options, calls the core verbs, prints, writes files and exits.

This is the only module that touches streams, files and exit codes. Core errors arrive as
NnexamError and leave as one line on stderr with the error's exit code.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .bank import DEFAULT_BANK, bundled_banks, load_bank
from .errors import NnexamError
from .files import read_input, safe_stem
from .staging import Output, legacy_exam_files, legacy_grade_files, pause, recover, write_new
from .generate import answer_key, class_ids, generate, submission_template
from .grade import Policy, check_key, grade, parse_submissions
from .gradebook import (attention_lines, canvas_csv, exam_title, feedback_rows, feedback_stems, feedback_texts,
                        fill_lms_export, grades_csv, moodle_csv, number)
from .manifest import load_manifest
from .notation import labels as make_labels
from .present import answer_table, fmt as _fmt, worked_latex, worked_text
from .roster import read_roster
from .solve import solve
from .spec import load_spec
from .table import read_table
from .workers import Pool

if TYPE_CHECKING:
    from .manifest import Manifest

# The PDF modules (reportlab) load only in the commands that draw, so that `nnexam solve` and
# `nnexam check` start quickly.


class NnexamGroup(click.Group):
    """Turns NnexamError into one stderr line and its exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NnexamError as e:
            click.echo(f"nnexam: error: {e.message}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=NnexamGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnexam")
def cli():
    """Per-student forward/backward-pass exercises: generate, solve, render and grade."""


@cli.command("solve")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--steps", is_flag=True, help="Print the worked solution step by step.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "latex"]), default="table", show_default=True,
              help="table: the answer key; json: full-precision values and labels; latex: the worked solution.")
@click.option("--decimals", type=click.IntRange(0, 12), default=4, show_default=True,
              help="Decimals of the human-readable output.")
def solve_cmd(spec: Path, steps: bool, fmt: str, decimals: int):
    """Print the full answer key of the network in SPEC (TOML, or JSON with the same keys)."""
    if steps and fmt == "json":
        raise click.UsageError("--steps prints the worked solution as text; --format json has no steps (use --format latex)")
    network = load_spec(spec)
    key = solve(network)
    names = make_labels(key.graph, network.notation, dict(network.names))
    if fmt == "json":
        doc = {
            "quantities": key.quantities(),
            "labels": {n: names[n].ascii for n in key.graph.names},
        }
        click.echo(json.dumps(doc, indent=2))
    elif fmt == "latex":
        click.echo(worked_latex(key.graph, key.values, names, decimals), nl=False)
    elif steps:
        click.echo(worked_text(key.graph, key.values, names, decimals), nl=False)
    else:
        click.echo(answer_table(key.graph, key.values, names, decimals), nl=False)


# --- generate, banks (issue 4: generator) ---------------------------------------------------


_PROGRESS_FROM = 2000  # show a progress bar on stderr from this many students


@cli.command("banks")
def banks_cmd():
    """List the bundled problem banks (use a name as BANK in `nnexam generate`)."""
    for name, path in bundled_banks():
        bank = load_bank(str(path))
        arch = bank.arch
        shape = "-".join(map(str, arch.layers))
        asked = sum(len(t.steps) for t in bank.tasks)
        what = f"{shape} {'/'.join(arch.activations)}, {arch.loss}, {bank.notation} notation, {asked} answers"
        default = " (default)" if name == DEFAULT_BANK else ""
        click.echo(f"{name:15s} {bank.title}{default}\n{'':15s} {what}")


@cli.command("generate")
@click.argument("bank", required=False, metavar="[BANK]")
@click.option("--seed", required=True, help="The exam seed (any text). The same seed, bank and ids give the same variants.")
@click.option("--students", "count", type=click.IntRange(1, 1_000_000), help="A class of N anonymous students s001..sNNN.")
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path), help="A roster CSV exported from your LMS.")
@click.option("--id-column", help="The roster column holding student ids (default: student_id, SIS User ID, ID, ...).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: output/<bank>-<seed>/).")
@click.option("--force", is_flag=True, help="Write into a non-empty output folder.")
@click.option("--no-pdf", is_flag=True, help="Write manifest.json, submission_template.csv and answer_key.csv only.")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True, help="Paper size of the PDFs.")
@click.option("--title", help="Title printed on the sheets (default: the bank's title).")
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes rendering PDFs (default: all cores).")
def generate_cmd(bank, seed, count, roster, id_column, out, force, no_pdf, paper, title, jobs):
    """One variant per student from BANK (a bank file, or a bundled bank's name; default: classic).

    Writes DIR/manifest.json (every variant), DIR/submission_template.csv, DIR/answer_key.csv
    (every student's answers) and, unless --no-pdf, each student's sheet and answer key as PDF.
    """
    if (count is None) == (roster is None):
        raise click.UsageError("give exactly one of --students N and --roster CSV")
    if not seed.strip():
        raise click.UsageError("--seed must not be empty")
    if id_column is not None and roster is None:
        raise click.UsageError("--id-column needs --roster")
    problem = load_bank(bank)
    if roster is not None:
        students, roster_warnings = read_roster(read_input(roster, "roster"), str(roster), id_column)
        for w in roster_warnings:
            click.echo(f"nnexam: warning: {w}", err=True)
    else:
        students = class_ids(count)
    out = out if out is not None else Path("output") / f"{problem.name}-{safe_stem(seed)}"
    output = exam_output(out, "generate", force=force, inputs=[roster])
    if len(students) >= _PROGRESS_FROM:
        with click.progressbar(length=len(students), label="Drawing fair variants", file=sys.stderr) as bar:
            done = [0]

            def progress(n: int, total: int) -> None:
                bar.update(n - done[0])
                done[0] = n

            manifest = generate(problem, seed, students, title=title, progress=progress)
    else:
        manifest = generate(problem, seed, students, title=title)
    with output:
        if not no_pdf:
            write_pdfs(manifest, output, jobs=jobs or os.cpu_count() or 1, paper=paper, title=title)
        output.write("submission_template.csv", submission_template(manifest))
        output.write("answer_key.csv", answer_key(manifest))
        output.write("manifest.json", manifest.to_json())
    _notes(output)
    points = sum(q.points for q in manifest.questions)
    n = len(manifest.students)
    click.echo(f"{n} student{'s' if n != 1 else ''}, {len(manifest.questions)} questions ({points:g} points) "
               f"from bank '{problem.name}', seed {seed!r}: {out}/")


# --- render (issue 5: PDF builder) -----------------------------------------------------------


_EXAM_FILES = ("manifest.json", "submission_template.csv", "answer_key.csv", "sheets.pdf", "keys.pdf", "sheets/", "keys/")


def exam_output(out: Path, command: str, *, force: bool, inputs=()) -> Output:
    """The exam folder as generate (which replaces everything generate and render wrote there) or
    render (which replaces their PDFs) rebuilds it; other files are kept."""
    if command == "render":
        def replaces(rel: str, tag: str) -> bool:
            return tag in ("generate", "render") and rel.lower().endswith(".pdf")
    else:
        def replaces(rel: str, tag: str) -> bool:
            return tag in ("generate", "render")
    output = Output(out, command, force=force, inputs=inputs, replaces=replaces, legacy=legacy_exam_files,
                    announce_kept=command != "render")
    output.claim(_EXAM_FILES if command == "generate" else _EXAM_FILES[3:])
    return output


def _notes(output: Output | list[str]) -> None:
    for line in output.notes if isinstance(output, Output) else output:
        click.echo(f"nnexam: note: {line}", err=True)


def write_pdfs(manifest: "Manifest", out: Output, *, jobs: int | None = None, paper: str = "a4",
               title: str | None = None) -> None:
    """Write every student's sheet and key (as the manifest's `files` say) and the class files sheets.pdf, keys.pdf."""
    from .render import bookmark, bundle, render_all, student_files

    files = student_files(manifest)
    n = len(manifest.students)
    sheets: list[bytes] = [b""] * n
    keys: list[bytes] = [b""] * n
    try:
        with click.progressbar(length=n, label="Rendering sheets and keys", file=sys.stderr) as bar:
            for i, sheet, key in render_all(manifest, jobs=jobs, paper=paper, title=title):
                out.write(files[i][0], sheet)
                out.write(files[i][1], key)
                sheets[i], keys[i] = sheet, key
                bar.update(1)
    except Exception as e:
        if type(e).__name__ != "LayoutError":  # reportlab's: something does not fit on a page
            raise
        raise NnexamError("cannot lay out the PDFs: a block does not fit on one page (is the title or a student's "
                          "name very long?)") from None
    marks = [bookmark(s) for s in manifest.students]
    name = title or manifest.title
    out.write("sheets.pdf", bundle(sheets, marks, f"{name}: exercise sheets"))
    out.write("keys.pdf", bundle(keys, marks, f"{name}: answer keys"))


@cli.command("render")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True, help="Paper size.")
@click.option("--title", help="Title printed on the sheets (default: the manifest's title).")
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes rendering PDFs (default: all cores).")
@click.option("--force", is_flag=True, help="Overwrite PDFs that already exist.")
def render_cmd(directory: Path, paper: str, title: str | None, jobs: int | None, force: bool):
    """Rebuild every PDF in DIRECTORY from its manifest.json alone: sheets/, keys/, sheets.pdf, keys.pdf."""
    from .render import student_files

    _notes(recover(directory))
    manifest = load_manifest(directory)
    targets = [f for pair in student_files(manifest) for f in pair] + ["sheets.pdf", "keys.pdf"]
    existing = [t for t in targets if os.path.lexists(directory / t)]
    if existing and not force:
        raise NnexamError(f"{directory / existing[0]}: exists ({len(existing)} PDFs would be overwritten; use --force)")
    output = exam_output(directory, "render", force=True, inputs=[directory / "manifest.json"])
    with output:
        write_pdfs(manifest, output, jobs=jobs, paper=paper, title=title)
    _notes(output)
    n = len(manifest.students)
    click.echo(f"{n} sheets and {n} answer keys ({paper}) in {directory}/sheets, {directory}/keys; "
               f"for printing: {directory}/sheets.pdf, {directory}/keys.pdf")


# --- grade, check (issue 6: grader) ----------------------------------------------------------


_GRADE_OUTPUTS = ("grades.csv", "canvas.csv", "moodle.csv", "report.pdf")


class _FeedbackFolder:
    """The feedback folder of the new grading output, one text file per graded submission.

    With jobs > 1 (and where processes can fork) the texts are made and written by that many
    worker processes, each taking slices of the rows, while this process makes the other files.
    Texts are written as they are made, never all held in memory.
    """

    _JOB: dict = {}  # what forked workers inherit: the grades, the rows and the folder

    def __init__(self, output: Output, grades, jobs: int):
        self.output = output
        rows = feedback_rows(grades)
        job = dict(grades=grades, rows=rows, stems=feedback_stems(grades), base=output.folder("feedback"))
        self.pool, self.futures = None, []
        self.n = n = len(rows)
        if jobs > 1 and n >= 4000 and "fork" in multiprocessing.get_all_start_methods():
            _FeedbackFolder._JOB = job
            size = -(-n // (jobs * 4))
            self.pool = Pool(jobs, "writing feedback files", fork=True)  # the workers inherit _JOB
            self.futures = [self.pool.submit(_FeedbackFolder.write_part, a, min(n, a + size)) for a in range(0, n, size)]
            pause("feedback")
        else:
            self.job = job

    @staticmethod
    def write_part(a: int, b: int, job: dict | None = None, progress=None) -> list[str]:
        """Write the feedback files of rows[a:b]; returns their names."""
        job = job or _FeedbackFolder._JOB
        base, names = job["base"], []
        for stem, text in feedback_texts(job["grades"], job["rows"][a:b], job["stems"]):
            write_new(f"{base}{stem}.txt", text.encode("utf-8"))
            names.append(f"{stem}.txt")
            if progress is not None and len(names) % 1000 == 0:
                progress(1000)
        if progress is not None:
            progress(len(names) % 1000)
        return names

    def finish(self) -> int:
        """Wait for the files and record them in the output; returns their number."""
        names: list[str] = []
        with _progress(self.n, "Writing feedback") as advance:
            try:
                if self.pool is None:
                    names = self.write_part(0, self.n, self.job, advance)
                else:
                    for part in self.pool.results(self.futures):
                        names += part
                        advance(len(part))
                    self.pool.close()
            except OSError as e:
                self.abandon()
                raise NnexamError(f"{self.output.out / 'feedback'}: cannot write ({e.strerror})", 1) from None
        self.output.record("feedback", names)
        return len(names)

    def abandon(self) -> None:
        """Stop the workers (the output's staging folder is discarded with its files)."""
        if self.pool is not None:
            self.pool.kill()
            self.pool = None


@contextmanager
def _progress(n: int, label: str):
    """A progress bar on stderr for big classes (a function advancing it by k), else a no-op."""
    if n < _PROGRESS_FROM:
        yield lambda k: None
        return
    with click.progressbar(length=n, label=label, file=sys.stderr) as bar:
        yield bar.update


@cli.command("grade")
@click.argument("exam_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("submissions", metavar="SUBMISSIONS.csv", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for grades.csv, feedback/, LMS files and report.pdf  [default: DIR/grades]")
@click.option("--follow-through", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Share of a question's points for an answer computed correctly from the student's own wrong earlier answers.")
@click.option("--lms-export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Grades export downloaded from the LMS: write a copy with this exam's column filled (instead of canvas.csv and moodle.csv).")
@click.option("--lms-column", default=None, help="Column of the LMS export to fill  [default: the exam title, added if absent]")
@click.option("--title", default=None, help="The exam's column name in LMS files  [default: the manifest's title]")
@click.option("--no-report", is_flag=True, help="Skip report.pdf.")
@click.option("--force", is_flag=True, help="Write into a non-empty --out folder, replacing earlier grading files.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes writing feedback files (default: all cores).")
def grade_cmd(exam_dir: Path, submissions: Path, out: Path | None, follow_through: float, lms_export: Path | None,
              lms_column: str | None, title: str | None, no_report: bool, force: bool, jobs: int | None):
    """Grade SUBMISSIONS.csv (wide: one row per student as in submission_template.csv; or long:
    student_id,question,answer) against DIR/manifest.json.

    Exit status: 0 when every row was graded cleanly, 1 when any row needs attention (listed on
    stderr, one line per kind), 2 when the input cannot be read.
    """
    # A class of 100,000 is millions of small objects that live until the end: the cyclic
    # collector would rescan them all again and again (a third of the run) and find nothing.
    gc.disable()
    try:
        _grade(exam_dir, submissions, out, follow_through, lms_export, lms_column, title, no_report, force, jobs)
    finally:
        gc.enable()


def _grade(exam_dir: Path, submissions: Path, out: Path | None, follow_through: float, lms_export: Path | None,
           lms_column: str | None, title: str | None, no_report: bool, force: bool, jobs: int | None) -> None:
    _notes(recover(exam_dir))
    manifest = load_manifest(exam_dir)
    out = out if out is not None else (exam_dir if exam_dir.is_dir() else exam_dir.parent) / "grades"
    output = Output(out, "grade", force=force, legacy=legacy_grade_files, force_hint="replace earlier grading files",
                    inputs=[exam_dir / "manifest.json" if exam_dir.is_dir() else exam_dir, submissions, lms_export])
    copy_name = None
    if lms_export is not None:
        copy_name = lms_export.name if lms_export.name.lower() not in (*_GRADE_OUTPUTS, "feedback") and not lms_export.name.startswith(".") else f"lms_{lms_export.name}"
    output.claim(["grades.csv", "feedback/", *(["report.pdf"] if not no_report else []),
                  *([copy_name] if copy_name else ["canvas.csv", "moodle.csv"])])
    table = read_table(read_input(submissions, "submissions"), str(submissions))
    subs = parse_submissions(table, manifest)
    export = read_input(lms_export, "LMS export") if lms_export is not None else None
    grades = grade(manifest, subs, Policy(follow_through))
    column = title or exam_title(grades)
    warnings = list(subs.warnings)
    files: dict[str, bytes | str] = {}
    lms_failed = False
    if export is not None:  # first, as the one step that can still refuse the input
        copy, lms_warnings = fill_lms_export(export, str(lms_export), grades, column, lms_column)
        files[copy_name] = copy
        warnings += lms_warnings
        lms_failed = bool(lms_warnings)
    with output:
        feedback = _FeedbackFolder(output, grades, jobs or os.cpu_count() or 1)
        try:
            # Made in memory while the workers write feedback; written once all are made.
            files = {"grades.csv": grades_csv(grades), **files}
            if export is None:
                files["canvas.csv"] = canvas_csv(grades, column)
                files["moodle.csv"] = moodle_csv(grades, column)
            if not no_report:
                from .report import render_report

                files["report.pdf"] = render_report(grades)
            n_feedback = feedback.finish()
        except BaseException:
            feedback.abandon()
            raise
        for name, data in files.items():
            output.write(name, data)
    _notes(output)
    for w in warnings:
        click.echo(f"nnexam: warning: {w}", err=True)
    attention = attention_lines(grades)
    for line in attention:
        click.echo(f"nnexam: attention: {line}", err=True)
    graded = int(grades.graded.sum())
    scores = grades.score[grades.graded]
    mean = f", mean {100 * scores.mean() / grades.max_score:.1f}%" if graded and grades.max_score else ""
    missing = f"; {len(grades.missing)} student(s) without a submission" if grades.missing else ""
    click.echo(f"graded {graded} of {len(grades.status)} rows (max {number(grades.max_score)} points{mean}){missing}; "
               f"wrote {', '.join(files)} and feedback/ ({n_feedback} files) in {out}/")
    if attention or lms_failed:
        sys.exit(1)


@cli.command("check")
@click.argument("spec", type=click.Path(path_type=Path))
@click.argument("answers", metavar="ANSWERS.csv", type=click.Path(path_type=Path))
@click.option("--all", "show_all", is_flag=True, help="List the right values too.")
def check_cmd(spec: Path, answers: Path, show_all: bool):
    """Check a hand-worked key: ANSWERS.csv holds one row of values under a header of labels (as
    `nnexam solve` prints them) or canonical names, any subset; or rows of name,value.

    Values that differ from the exact ones only by rounding or truncation at the decimals they are
    written with pass. Exit status: 0 all right, 1 any wrong, 2 unreadable input.
    """
    network = load_spec(spec)
    table = read_table(read_input(answers, "answers"), str(answers))
    for w in table.warnings:
        click.echo(f"nnexam: warning: {w}", err=True)
    checked = check_key(network, table)
    width = max((len(c.label) for c in checked), default=0)
    wrong = [c for c in checked if not c.ok]
    for c in checked:
        if c.ok and not show_all:
            continue
        line = f"{c.label:<{width}}  {c.text:>12}  "
        if c.ok:
            line += f"ok       (exact {_fmt(c.expected, c.decimals + 2)})"
        else:
            line += f"WRONG    expected {_fmt(c.expected, max(c.decimals + 2, 4))}"
            if c.mistake is not None:
                line += f"; matches the mistake: {c.mistake.title}"
            if c.follows:
                line += "; follows from the key's own earlier values"
        click.echo(line)
    click.echo(f"{len(checked)} values checked against {spec}: {len(checked) - len(wrong)} right, {len(wrong)} wrong")
    if wrong:
        sys.exit(1)


def main() -> None:
    """Console-script entry point (see __main__.main)."""
    from .__main__ import main as entry

    entry()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
