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

import dataclasses
import errno

import click

from . import __version__
from .bank import DEFAULT_BANK, bundled_banks, bundled_examples, find_spec, load_bank
from .errors import NnexamError
from .files import read_input, safe_stem, write_atomic
from .staging import Output, legacy_exam_files, legacy_grade_files, pause, recover, write_new
from .generate import DRAW_RULES, answer_key, class_ids, generate, pool_ids, submission_template
from .grade import Policy, check_key, grade, merge_submissions, parse_submissions
from . import lms
from .lms.reports import attempt_scores, choose_attempts, read_report
from .gradebook import attention_lines, exam_title, feedback_rows, feedback_stems, feedback_texts, grades_csv, number
from .manifest import load_manifest
from .notation import check_unique_labels, labels as make_labels
from .present import answer_table, fmt as _fmt, worked_latex, worked_text
from .roster import read_table as read_roster_table
from .solve import solve
from .spec import load_spec
from .table import in_file, read_table
from .workers import Pool

if TYPE_CHECKING:
    from .grade import Submissions
    from .manifest import Manifest
    from .spec import Network

# The PDF modules (reportlab) load only in the commands that draw, so that `nnexam solve` and
# `nnexam check` start quickly.


class _UsageLine(click.ClickException):
    """A usage error shown as every other error is: one stderr line (with where to find help), exit 2."""

    exit_code = 2

    def __init__(self, error: click.UsageError, where: str = "nnexam"):
        where = error.ctx.command_path if error.ctx is not None else where
        message = " ".join(line.strip() for line in error.format_message().splitlines() if line.strip())
        super().__init__(f"{message} (see '{where} --help')")

    def show(self, file=None) -> None:
        click.echo(f"nnexam: error: {self.message}", err=True)


def _printing_failed(e: OSError) -> None:
    """One line and exit 1 for an OSError that reached the top. nnexam's own reads and writes fail
    as NnexamError; what is left is printing: stdout redirected to a full disk (> /dev/full) or a
    terminal gone. A broken pipe (`| head`) is left to click, which ends quietly."""
    if e.errno == errno.EPIPE:
        raise e
    what = f"{e.filename}: {e.strerror or e}" if e.filename else f"cannot write ({e.strerror or e})"
    try:
        click.echo(f"nnexam: error: {what}; any output folder is complete or as it was", err=True)
    except OSError:
        pass
    raise click.exceptions.Exit(1)


class NnexamGroup(click.Group):
    """Turns NnexamError and click's usage errors into one stderr line and an exit code, never a traceback."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except getattr(click.exceptions, "NoArgsIsHelpError", ()) as e:  # bare `nnexam` (click >= 8.2): the help, as asked
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.UsageError as e:  # nnexam's own options (--frob), before any command
            raise _UsageLine(e) from None
        except OSError as e:  # --help or --version printed to a full disk
            _printing_failed(e)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:  # a command's arguments and options, and UsageErrors the commands raise
            raise _UsageLine(e, f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()) from None
        except NnexamError as e:
            click.echo(f"nnexam: error: {e.message}", err=True)
            ctx.exit(e.exit_code)
        except OSError as e:
            _printing_failed(e)


@click.group(cls=NnexamGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnexam")
def cli():
    """Per-student forward/backward-pass exercises: generate, solve, render and grade."""


def _load_spec(path: Path) -> "Network":
    """A spec file checked in full: its keys (spec), its printed names (notation) and its values,
    solved once: values that overflow float64 are refused naming the file (an inf would accept anything)."""
    network = load_spec(path)
    check_unique_labels(network.arch, network.notation, dict(network.names), str(path))
    solve(network, str(path))
    return network


@cli.command("solve")
@click.argument("spec", metavar="SPEC")
@click.option("--steps", is_flag=True, help="Print the worked solution step by step.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "latex"]), default="table", show_default=True,
              help="table: the answer key; json: full-precision values and labels; latex: the worked solution.")
@click.option("--decimals", type=click.IntRange(0, 12), default=4, show_default=True,
              help="Decimals of the human-readable output.")
def solve_cmd(spec: str, steps: bool, fmt: str, decimals: int):
    """Print the full answer key of the network in SPEC (TOML, or JSON with the same keys), or of a
    bundled example given by name (`nnexam banks` lists them)."""
    if steps and fmt == "json":
        raise click.UsageError("--steps prints the worked solution as text; --format json has no steps (use --format latex)")
    network = _load_spec(find_spec(spec))
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


@cli.group("banks", invoke_without_command=True)
@click.pass_context
def banks_cmd(ctx):
    """The bundled problem banks and examples: list them (the default), show or copy one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(banks_list_cmd)


@banks_cmd.command("list")
def banks_list_cmd():
    """List the bundled problem banks (use a name as BANK in `nnexam generate`) and examples."""
    for name, path in bundled_banks():
        bank = load_bank(str(path))
        arch = bank.arch
        shape = "-".join(map(str, arch.layers))
        asked = sum(len(t.steps) for t in bank.tasks)
        what = f"{shape} {'/'.join(arch.activations)}, {arch.loss}, {bank.notation} notation, {asked} answers"
        default = " (default)" if name == DEFAULT_BANK else ""
        click.echo(f"{name:15s} {bank.title}{default}\n{'':15s} {what}")
    examples = [name for name, _ in bundled_examples()]
    if examples:
        click.echo(f"examples (nnexam solve NAME): {', '.join(examples)}")


def _bundled_bank(name: str) -> Path:
    """The file of bundled bank NAME; one line naming the bundled ones otherwise."""
    banks = dict(bundled_banks())
    if name in banks:
        return banks[name]
    if name in dict(bundled_examples()):
        raise NnexamError(f"{name}: a bundled example spec, not a bank (solve it with `nnexam solve {name}`)")
    raise NnexamError(f"{name}: not a bundled bank (bundled: {', '.join(banks) or 'none'})")


@banks_cmd.command("show")
@click.argument("name")
def banks_show_cmd(name: str):
    """Print bundled bank NAME's TOML."""
    click.echo(_bundled_bank(name).read_text(encoding="utf-8"), nl=False)


_COPY_NOTE = """\
# An editable copy of nnexam's bundled bank '{name}' (nnexam {version}).
# Use it as: nnexam generate {file} --seed SEED --students N
# What to change: title (and course, date), printed on every sheet; [draws], the grids the
# given numbers are drawn from; [[tasks]], what is asked, for how many points, at how many
# decimals. The architecture keys (layers, activations, loss, bias) make it another exercise.
# Try it with --no-pdf first: nnexam checks the whole file and names any key it cannot use.

"""


@banks_cmd.command("copy")
@click.argument("name")
@click.argument("dest", required=False)
@click.option("--force", is_flag=True, help="Overwrite DEST if it exists.")
def banks_copy_cmd(name: str, dest: str | None, force: bool):
    """Write an editable copy of bundled bank NAME to DEST (default: ./NAME.toml; a folder, or a name
    ending in /: DEST/NAME.toml)."""
    source = _bundled_bank(name)
    if dest is None:
        target = Path(f"{name}.toml")
    elif dest.endswith(("/", os.sep)) or Path(dest).is_dir():
        target = Path(dest) / f"{name}.toml"
    else:
        target = Path(dest)
    if target.exists() and os.path.samefile(target, source):
        raise NnexamError(f"{target}: is the bundled bank '{name}' itself; copy it somewhere else (default: ./{name}.toml)")
    if target.exists() and not force:
        raise NnexamError(f"{target}: exists (use --force to overwrite)", 1)
    note = _COPY_NOTE.format(name=name, version=__version__, file=target)
    write_atomic(target, note + source.read_text(encoding="utf-8"))  # one NnexamError line if it cannot
    click.echo(f"wrote {target}: edit its title, [draws] and [[tasks]], then run `nnexam generate {target} --seed SEED --students N`")


def _previous_draw_rules(out: Path, seed: str, problem) -> int:
    """The draw rules of the exam already in OUT when it has this seed and bank (so that generating
    it again, to add a student say, gives everyone the numbers they have), else this nnexam's."""
    if not (out / "manifest.json").is_file():
        return DRAW_RULES
    try:
        previous = load_manifest(out)
    except NnexamError:
        return DRAW_RULES  # not an exam this run could reproduce: this nnexam's rules
    if previous.seed != seed or previous.bank_hash != problem.hash or previous.draw_rules == DRAW_RULES:
        return DRAW_RULES
    click.echo(f"nnexam: note: {out}: the exam there was drawn by draw rules {previous.draw_rules} (nnexam 0.1); "
               f"drawn by them again so every student keeps their numbers (--draw-rules {DRAW_RULES} for this "
               "nnexam's)", err=True)
    return previous.draw_rules


@cli.command("generate")
@click.argument("bank", required=False, metavar="[BANK]")
@click.option("--seed", required=True, help="The exam seed (any text). The same seed, bank and ids give the same variants.")
@click.option("--students", "count", type=click.IntRange(1, 1_000_000), help="A class of N anonymous students s001..sNNN.")
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path), help="A roster CSV exported from your LMS.")
@click.option("--pool", type=click.IntRange(1, 100_000), help="A pool of N variants v001..vNNN bound to no student, for an LMS quiz to hand out at random (see `nnexam export`).")
@click.option("--id-column", help="The roster column holding student ids (default: student_id, SIS User ID, ID, ...).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: output/<bank>-<seed>/).")
@click.option("--force", is_flag=True, help="Write into a non-empty output folder.")
@click.option("--no-pdf", is_flag=True, help="Write manifest.json, submission_template.csv and answer_key.csv only.")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True, help="Paper size of the PDFs.")
@click.option("--title", help="Title printed on the sheets (default: the bank's title).")
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes rendering PDFs (default: all cores).")
@click.option("--simplex", is_flag=True, help="No blank page after a student's odd page count in sheets.pdf and keys.pdf "
              "(for one-sided printing; default: padded for double-sided).")
@click.option("--font", "fonts", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="A TrueType (.ttf) font for letters of names the shipped fonts lack (e.g. rare CJK); repeatable.")
@click.option("--draw-rules", type=click.IntRange(1, DRAW_RULES), default=None,
              help=f"The fairness rules that decide a redraw: {DRAW_RULES} (this nnexam), or 1 to draw exactly as "
                   "nnexam 0.1 did  [default: the rules of the exam already in --out for the same seed and bank, "
                   f"else {DRAW_RULES}]")
def generate_cmd(bank, seed, count, roster, pool, id_column, out, force, no_pdf, paper, title, jobs, simplex, fonts,
                 draw_rules):
    """One variant per student from BANK (a bank file, or a bundled bank's name; default: classic).

    Writes DIR/manifest.json (every variant), DIR/submission_template.csv, DIR/answer_key.csv
    (every student's answers) and, unless --no-pdf, each student's sheet and answer key as PDF.
    """
    if sum(x is not None for x in (count, roster, pool)) != 1:
        raise click.UsageError("give exactly one of --students N, --roster CSV and --pool N")
    if not seed.strip():
        raise click.UsageError("--seed must not be empty")
    if id_column is not None and roster is None:
        raise click.UsageError("--id-column needs --roster")
    problem = load_bank(bank)
    said: list[str] = []
    if roster is not None:
        found = lms.detect_roster(read_roster_table(read_input(roster, "roster"), str(roster)), id_column)
        # Said once the roster's students are accepted (generate checks their ids): an error stays one line.
        said = ([f"nnexam: warning: {w}" for w in found.warnings]
                + [f"nnexam: note: {roster}: read as {found.layout}, ids from column '{found.id_column}'"]
                + [f"nnexam: note: {note}" for note in found.notes])
        students = list(found.students)
    elif pool is not None:
        students = pool_ids(pool)
    else:
        students = class_ids(count)
    kind = "pool" if pool is not None else "class"
    out = out if out is not None else Path("output") / f"{problem.name}-{safe_stem(seed)}"
    output = exam_output(out, "generate", force=force, inputs=[roster, *map(Path, fonts)])
    if draw_rules is None:
        draw_rules = _previous_draw_rules(out, seed, problem)
    if len(students) >= _PROGRESS_FROM:
        with click.progressbar(length=len(students), label="Drawing fair variants", file=sys.stderr) as bar:
            done = [0]

            def progress(n: int, total: int) -> None:
                bar.update(n - done[0])
                done[0] = n

            manifest = generate(problem, seed, students, title=title, progress=progress, kind=kind, draw_rules=draw_rules)
    else:
        manifest = generate(problem, seed, students, title=title, kind=kind, draw_rules=draw_rules)
    for line in said:
        click.echo(line, err=True)
    # What `nnexam render` reuses unless told otherwise.
    manifest = dataclasses.replace(manifest, render={"paper": paper, "sides": "simplex" if simplex else "duplex"})
    if not no_pdf:
        _check_fonts(manifest, fonts, title)
    with output:
        if not no_pdf:
            write_pdfs(manifest, output, jobs=jobs or os.cpu_count() or 1, paper=paper, title=title,
                       duplex=not simplex, fonts=fonts)
        output.write("submission_template.csv", submission_template(manifest))
        output.write("answer_key.csv", answer_key(manifest))
        output.write("manifest.json", manifest.to_json())
    _notes(output)
    points = sum(q.points for q in manifest.questions)
    n = len(manifest.students)
    who = (f"{n} pool variant{'s' if n != 1 else ''} (v001...; `nnexam export moodle|canvas` makes the quiz)"
           if kind == "pool" else f"{n} student{'s' if n != 1 else ''}")
    click.echo(f"{who}, {len(manifest.questions)} questions ({points:g} points) "
               f"from bank '{problem.name}', seed {seed!r}: {out}/")


# --- render (issue 5: PDF builder) -----------------------------------------------------------


_EXAM_FILES = ("manifest.json", "submission_template.csv", "answer_key.csv", "sheets.pdf", "keys.pdf", "sheets/", "keys/")


def _check_fonts(manifest: "Manifest", fonts: tuple[str, ...], title: str | None = None) -> None:
    """Register the --font files (one line if one cannot be used) and warn, in one line, of names that would print boxes."""
    from .fonts import FONT_HINT, forget_user_fonts, missing, unprintable_warning, use_font

    forget_user_fonts()  # this run's --font only: an earlier command's in this process (CliRunner, the API) is no fallback
    for path in fonts:
        try:
            use_font(path)
        except ValueError as e:
            raise NnexamError(f"--font {e}") from None
    warning = unprintable_warning([(s.id, s.name) for s in manifest.students])
    if warning:
        click.echo(f"nnexam: warning: {warning}", err=True)
    for what, text in (("title", title or manifest.title), ("course", manifest.course)):
        lost = missing(text or "")
        if lost:
            click.echo(f"nnexam: warning: the {what} {text!r} has letters no font prints ({lost!r}): {FONT_HINT}", err=True)


def exam_output(out: Path, command: str, *, force: bool, inputs=(), only: frozenset[str] | None = None) -> Output:
    """The exam folder as generate (which replaces everything generate and render wrote there) or
    render (which replaces their PDFs; with `only`, just those files) rebuilds it; other files are kept."""
    if only is not None:
        def replaces(rel: str, tag: str) -> bool:
            return rel in only
    elif command == "render":
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
               title: str | None = None, duplex: bool = True, fonts: tuple[str, ...] = ()) -> None:
    """Write every student's sheet and key (as the manifest's `files` say) and the class files sheets.pdf, keys.pdf.

    `duplex`: pad each student to an even page count in the class files; `fonts`: --font paths.
    """
    from .render import bookmark, bundle, render_all, student_files

    files = student_files(manifest)
    n = len(manifest.students)
    sheets: list[bytes] = [b""] * n
    keys: list[bytes] = [b""] * n
    try:
        with click.progressbar(length=n, label="Rendering sheets and keys", file=sys.stderr) as bar:
            for i, sheet, key in render_all(manifest, jobs=jobs, paper=paper, title=title, fonts=tuple(fonts)):
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
    out.write("sheets.pdf", bundle(sheets, marks, f"{name}: exercise sheets", duplex=duplex))
    out.write("keys.pdf", bundle(keys, marks, f"{name}: answer keys", duplex=duplex))


def _render_options(manifest: "Manifest", paper: str | None) -> str:
    """The paper for `nnexam render`: the command line's, else what generate recorded, else A4."""
    return paper or manifest.render.get("paper", "a4")


def _render_students(manifest: "Manifest", ids: tuple[str, ...], directory: Path) -> list[int]:
    """Indices of the students asked for by --student (every student when none is)."""
    if not ids:
        return list(range(len(manifest.students)))
    index = {s.id: i for i, s in enumerate(manifest.students)}
    for sid in ids:
        if sid not in index:
            some = ", ".join(list(index)[:3]) + (", ..." if len(index) > 3 else "")
            raise NnexamError(f"{directory / 'manifest.json'}: no student {sid!r} (ids: {some})")
    return sorted({index[sid] for sid in ids})


def _write_student_pdfs(manifest: "Manifest", rows: list[int], out: Output, paper: str, title: str | None) -> None:
    """Write the sheet and key of the students at `rows` only (render --student)."""
    from .render import render_key, render_sheet, student_files

    files = student_files(manifest)
    for i in rows:
        s = manifest.students[i]
        out.write(files[i][0], render_sheet(manifest, s, paper=paper, title=title))
        out.write(files[i][1], render_key(manifest, s, paper=paper, title=title))


@cli.command("render")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--paper", type=click.Choice(["a4", "letter"]),
              help="Paper size  [default: as generate recorded it in the manifest, else a4]")
@click.option("--title", help="Title printed on the sheets (default: the manifest's title).")
@click.option("--student", "student_ids", multiple=True, metavar="ID",
              help="Rebuild only this student's sheet and key (repeatable); the class files are left as they are.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes rendering PDFs (default: all cores).")
@click.option("--force", is_flag=True, help="Overwrite PDFs that already exist.")
@click.option("--simplex/--duplex", default=None,
              help="Without / with a blank page after a student's odd page count in sheets.pdf and keys.pdf  "
                   "[default: as generate recorded it, else --duplex]")
@click.option("--font", "fonts", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="A TrueType (.ttf) font for letters of names the shipped fonts lack; repeatable.")
def render_cmd(directory: Path, paper: str | None, title: str | None, student_ids: tuple[str, ...], jobs: int | None,
               force: bool, simplex: bool | None, fonts: tuple[str, ...]):
    """Rebuild every PDF in DIRECTORY from its manifest.json alone: sheets/, keys/, sheets.pdf, keys.pdf."""
    from .render import student_files

    _notes(recover(directory))
    manifest = load_manifest(directory)
    paper = _render_options(manifest, paper)
    if simplex is None:
        simplex = manifest.render.get("sides") == "simplex"
    rows = _render_students(manifest, student_ids, directory)
    files = student_files(manifest)
    targets = [f for i in rows for f in files[i]] + ([] if student_ids else ["sheets.pdf", "keys.pdf"])
    existing = [t for t in targets if os.path.lexists(directory / t)]
    if existing and not force:
        raise NnexamError(f"{directory / existing[0]}: exists ({len(existing)} PDFs would be overwritten; use --force)")
    _check_fonts(manifest, fonts, title)
    output = exam_output(directory, "render", force=True, inputs=[directory / "manifest.json", *map(Path, fonts)],
                         only=frozenset(targets) if student_ids else None)
    with output:
        if student_ids:
            _write_student_pdfs(manifest, rows, output, paper, title)
        else:
            write_pdfs(manifest, output, jobs=jobs, paper=paper, title=title, duplex=not simplex, fonts=fonts)
    _notes(output)
    if student_ids:
        click.echo(f"{len(rows)} sheet(s) and answer key(s) ({paper}): {', '.join(f for i in rows for f in files[i])} "
                   f"in {directory}/ (sheets.pdf and keys.pdf not rebuilt)")
        return
    n = len(manifest.students)
    click.echo(f"{n} sheets and {n} answer keys ({paper}) in {directory}/sheets, {directory}/keys; "
               f"for printing: {directory}/sheets.pdf, {directory}/keys.pdf")


# --- grade, check (issue 6: grader) ----------------------------------------------------------


_GRADE_OUTPUTS = ("grades.csv", "canvas.csv", "moodle.csv", "brightspace.csv", "report.pdf")


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
@click.argument("submissions", metavar="SUBMISSIONS...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for grades.csv, feedback/, LMS files and report.pdf  [default: DIR/grades]")
@click.option("--follow-through", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Share of a question's points for an answer computed correctly from the student's own wrong earlier answers.")
@click.option("--lms-export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Grades export downloaded from the LMS: write a copy with this exam's column filled (instead of canvas.csv and moodle.csv).")
@click.option("--lms-column", default=None, help="Column of the LMS export to fill  [default: the exam title, added if absent]")
@click.option("--title", default=None, help="The exam's column name in LMS files  [default: the manifest's title]")
@click.option("--percent", is_flag=True, help="LMS files get percentages (0-100) instead of points.")
@click.option("--missing", type=click.Choice(["blank", "zero"]), default="blank", show_default=True,
              help="Students without a submission in LMS files: left out (the LMS keeps what it has) or given 0.")
@click.option("--no-report", is_flag=True, help="Skip report.pdf.")
@click.option("--force", is_flag=True, help="Write into a non-empty --out folder, replacing earlier grading files.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes writing feedback files (default: all cores).")
@click.option("--attempt", type=click.Choice(["first", "last", "best"]), default="last", show_default=True,
              help="Which attempt of a respondent with several (in an LMS quiz report) is graded.")
def grade_cmd(exam_dir: Path, submissions: tuple[Path, ...], out: Path | None, follow_through: float, lms_export: Path | None,
              lms_column: str | None, title: str | None, percent: bool, missing: str, no_report: bool, force: bool,
              jobs: int | None, attempt: str):
    """Grade SUBMISSIONS against DIR/manifest.json: one or more CSV files, or folders of them (each
    *.csv in it, as per-student files), read as one class. Wide: one row per student as in
    submission_template.csv; long: student_id,question,answer; or an LMS quiz report, unedited:
    Moodle's Responses report, Canvas's Student Analysis, a Google Forms or Microsoft Forms export.
    Files joined with their headers repeated are read too.

    Exit status: 0 when every row was graded cleanly, 1 when any row needs attention (listed on
    stderr, one line per kind) or nothing was graded (a column that names no question, a file with
    no answers), 2 when the input cannot be read.
    """
    if lms_column is not None and lms_export is None:
        raise click.UsageError("--lms-column names the column of --lms-export to fill; give --lms-export too")
    # A class of 100,000 is millions of small objects that live until the end: the cyclic
    # collector would rescan them all again and again (a third of the run) and find nothing.
    gc.disable()
    try:
        _grade(exam_dir, submissions, out, follow_through, lms_export, lms_column, title, no_report, force, jobs,
               lms.GradeOptions(percent=percent, missing=missing), attempt)
    finally:
        gc.enable()


def _grade(exam_dir: Path, submissions: tuple[Path, ...], out: Path | None, follow_through: float, lms_export: Path | None,
           lms_column: str | None, title: str | None, no_report: bool, force: bool, jobs: int | None,
           options: lms.GradeOptions = lms.GradeOptions(), attempt: str = "last") -> None:
    _notes(recover(exam_dir))
    manifest = load_manifest(exam_dir)
    out = out if out is not None else (exam_dir if exam_dir.is_dir() else exam_dir.parent) / "grades"
    sources = _submission_files(submissions)
    output = Output(out, "grade", force=force, legacy=legacy_grade_files, force_hint="replace earlier grading files",
                    inputs=[exam_dir / "manifest.json" if exam_dir.is_dir() else exam_dir, *sources, lms_export])
    copy_name = None
    if lms_export is not None:
        copy_name = lms_export.name if lms_export.name.lower() not in (*_GRADE_OUTPUTS, "feedback") and not lms_export.name.startswith(".") else f"lms_{lms_export.name}"
    output.claim(["grades.csv", "feedback/", *(["report.pdf"] if not no_report else []),
                  *([copy_name] if copy_name else _GRADE_OUTPUTS[1:4])])
    subs = _read_submissions(submissions, manifest, attempt, Policy(follow_through))
    export = read_input(lms_export, "LMS export") if lms_export is not None else None
    grades = grade(manifest, subs, Policy(follow_through))
    column = title or exam_title(grades)
    warnings = list(subs.warnings)
    files: dict[str, bytes | str] = {}
    lms_failed = False
    if export is not None:  # first, as the one step that can still refuse the input
        copy, lms_warnings = lms.fill_export(export, str(lms_export), grades, column, lms_column, options)
        files[copy_name] = copy
        export_line = lms.export_how(export, str(lms_export), copy_name)
        warnings += lms_warnings
        lms_failed = bool(lms_warnings)
    with output:
        feedback = _FeedbackFolder(output, grades, jobs or os.cpu_count() or 1)
        try:
            # Made in memory while the workers write feedback; written once all are made.
            files = {"grades.csv": grades_csv(grades), **files}
            imports = lms.grade_files(grades, column, options) if export is None else []
            for made in imports:
                files[made.name] = made.data
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
    for made in imports:
        click.echo(made.how)
    if export is not None:
        click.echo(export_line)
    if attention or lms_failed:
        sys.exit(1)


# --- export (issue 11: LMS quizzes) ---------------------------------------------------------


@cli.command("export")
@click.argument("system", metavar="LMS", type=click.Choice(
    [m.__name__.rsplit(".", 1)[-1] for m in lms.SYSTEMS if hasattr(m, "export_quiz")]))
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for the quiz file  [default: DIR]")
@click.option("--title", help="The quiz's name (default: the exam's title).")
@click.option("--decimal-comma", is_flag=True, help="Canvas: also accept answers typed with a decimal comma (0,5933).")
@click.option("--force", is_flag=True, help="Replace an earlier export (or write into a non-empty --out folder).")
def export_cmd(system: str, directory: Path, out: Path | None, title: str | None, decimal_comma: bool, force: bool):
    """Write a pool exam (`nnexam generate --pool N`) as an LMS quiz: DIR/moodle.xml (Moodle XML, one Cloze
    question per variant in one category) or DIR/canvas-qti.zip (QTI 1.2, a question group picking 1 variant).
    """
    from .lms.quiz import QuizOptions

    _notes(recover(directory))
    manifest = load_manifest(directory)
    options = QuizOptions(title=title, decimal_comma=decimal_comma)
    try:
        files = lms.system(system).export_quiz(manifest, options)  # each LMS module that has a quiz format
    except NnexamError as e:
        raise NnexamError(f"{directory}: {e.message}", e.exit_code) from None
    target = out if out is not None else directory
    inputs = [directory / "manifest.json"]
    if out is None:  # beside the exam's files, which stay as they are
        existing = [name for name in files if os.path.lexists(directory / name)]
        if existing and not force:
            raise NnexamError(f"{directory / existing[0]}: exists (use --force to replace it)")
        output = Output(directory, "export", force=True, inputs=inputs, replaces=lambda rel, tag: rel in files,
                        announce_kept=False)
    else:
        output = Output(out, "export", force=force, inputs=inputs, force_hint="replace earlier export files")
    output.claim(list(files))
    with output:
        for name, data in files.items():
            output.write(name, data)
    _notes(output)
    n = len(manifest.students)
    for name, data in files.items():
        click.echo(f"{target / name}: {n} variants of {len(manifest.questions)} answers ({len(data) / 1024:.0f} kB); "
                   f"see docs/lms-quizzes.md for the import steps")


# Files nnexam writes that hold answers or points per question: in a folder of submissions they
# would be graded as students' answers (answer_key.csv scores everyone 100%).
_NOT_SUBMISSIONS = ("answer_key.csv", "grades.csv", "canvas.csv", "moodle.csv")


def _submission_files(paths: tuple[Path, ...]) -> list[Path]:
    """The files to read: each path given, and each *.csv of a folder given (by name, hidden ones skipped)."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        if (path / "manifest.json").is_file():
            raise NnexamError(f"{path}: is an exam folder (it holds manifest.json), not a folder of submissions")
        found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and not p.name.startswith(".") and p.is_file())
        ours = [p for p in found if p.name.lower() in _NOT_SUBMISSIONS]
        if ours:
            raise NnexamError(f"{ours[0]}: written by nnexam, not a submission; move it out of {path}", 2)
        if not found:
            raise NnexamError(f"{path}: no .csv files in this folder (expected submissions)")
        files += found
    seen: dict[Path, Path] = {}
    for f in files:
        key = f.resolve()
        if key in seen:
            raise NnexamError(f"{f}: given twice (as {seen[key]} too); each submission file once")
        seen[key] = f
    return files


def _read_submissions(paths: tuple[Path, ...], manifest: "Manifest", attempt: str = "last",
                      policy: Policy = Policy()) -> "Submissions":
    """Every submission file read as one class; with several files each row's line names its file.

    A file in an LMS's quiz report layout is read as that report (one line says which), with one
    attempt per respondent kept (`attempt`: first, last or best).
    """
    files = _submission_files(paths)
    tables = []
    for f in files:
        table, layout = read_report(read_table(read_input(f, "submissions"), str(f)), manifest)
        if layout:
            rows = len(table.rows)
            scores = attempt_scores(table, manifest, policy) if attempt == "best" else None
            table, dropped = choose_attempts(table, attempt, scores)
            kept = f"; graded the {attempt} attempt of each respondent ({dropped} other attempts left out)" if dropped else ""
            click.echo(f"{f}: read as {layout}: {rows} attempt{'s' if rows != 1 else ''}{kept}")
        tables.append(table)
    if len(tables) == 1:
        return parse_submissions(tables[0], manifest)
    parts = [parse_submissions(in_file(t), manifest) for t in tables]
    source = f"{paths[0]} ({len(files)} files)" if len(paths) == 1 else f"{len(files)} files"  # a folder, or the files
    return merge_submissions(parts, source)


@cli.command("check")
@click.argument("spec", metavar="SPEC")
@click.argument("answers", metavar="ANSWERS.csv", type=click.Path(path_type=Path))
@click.option("--all", "show_all", is_flag=True, help="List the right values too.")
def check_cmd(spec: str, answers: Path, show_all: bool):
    """Check a hand-worked key: ANSWERS.csv holds one row of values under a header of labels (as
    `nnexam solve` prints them) or canonical names, any subset; or rows of name,value.

    A value is right when it is the exact value rounded or truncated at the decimals it is written
    with (0.30 has two). A wrong one is explained: it follows from the key's own earlier values,
    it is 1 in the last digit off, a named mistake, or a likely single slip in its formula.
    Exit status: 0 all right, 1 any wrong or no value at all, 2 unreadable input.
    """
    network = _load_spec(find_spec(spec))
    table = read_table(read_input(answers, "answers"), str(answers))
    for w in table.warnings:
        click.echo(f"nnexam: warning: {w}", err=True)
    checked = check_key(network, table)
    if not checked:  # only ids and names, or every value blank: "0 checked, 0 wrong" would read as a clean key
        raise NnexamError(f"no answers in {answers}: every value cell is blank, or the only columns are ids and names "
                          "(expected labels as `nnexam solve` prints them)", 1)  # as grade says it
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
            why = []
            if c.follows:
                why.append(f"follows from your earlier value{'s' if len(c.follows_from) > 1 else ''} "
                           f"{', '.join(c.follows_from)} (giving {_fmt(c.own, c.decimals + 2)})"
                           if c.follows_from else f"follows from your earlier values (giving {_fmt(c.own, c.decimals + 2)})")
            elif c.off_by is not None and c.off_by <= 2:
                why.append(f"{c.off_by} in the last digit off")
            if c.mistake is not None and not c.follows:
                why.append(f"likely cause: {c.mistake.title}" if c.mistake.likely else f"matches the mistake: {c.mistake.title}")
            if why:
                line += "; " + "; ".join(why)
        click.echo(line)
    click.echo(f"{len(checked)} values checked against {spec}: {len(checked) - len(wrong)} right, {len(wrong)} wrong")
    if wrong:
        sys.exit(1)
