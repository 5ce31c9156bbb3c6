"""Every command and every spec or bank in the documentation works as written.

Each ```sh block of README.md and docs/*.md: every `nnexam ...` line is run (CliRunner, in a
temporary folder per page, blocks in page order), and must exit 0. Lines that are not nnexam
(pip, apt-get, pyftsubset) are not run. The input files a command names are made here the way
an instructor would have them: a roster as Canvas exports it, answers copied from the exam's
answer_key.csv, a Moodle Responses report or a Canvas Student Analysis of the right answers,
a hand-worked key of Mazur's printed values. Each ```toml block that is a spec or a bank (or a
fragment of one: merged onto the bundled bank or example it extends) is loaded by nnexam.

Changes to a command, each for a stated reason (see _adapt): class and pool sizes above 5 are
run with 5 (time: the PDFs of 100 students take seconds, and no block depends on more than 5);
a `--font` file not on this machine is replaced by a shipped TrueType font.
"""

from __future__ import annotations

import csv
import io
import re
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnexam.bank import find_bank, find_spec, parse_bank
from nnexam.cli import cli
from nnexam.fonts import forget_user_fonts
from nnexam.manifest import load_manifest
from nnexam.spec import parse_spec
from test_lms_quiz import _canvas_report, _exact, _moodle_report
from test_lms_rosters import CANVAS_EXPORT

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```", re.S | re.M)
MAX_CLASS = 5
FONT = ROOT / "src" / "nnexam" / "fonts" / "DejaVuSans.ttf"

# Matt Mazur, "A Step by Step Backpropagation Example" (2015): values as the post prints them
# (mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/), in nnexam's mazur labels.
MAZUR_KEY = ("net_h1,out_h1,out_h2,out_o1,out_o2,E_total,w5_new,w6_new,w1_new\n"
             "0.3775,0.593269992,0.596884378,0.75136507,0.772928465,0.298371109,0.35891648,0.408666186,0.149780716\n")

# A roster with its own id column (reference.md: --id-column "Student Number").
CLASS = "Student Number,Full Name,Email\r\n10001,Ann Lee,alee@uni.edu\r\n10002,Bo O'Neil,bo@uni.edu\r\n10003,Cy Kim,cy@uni.edu\r\n"


def blocks(lang: str) -> list[tuple[Path, int, str]]:
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m.group(1) == lang:
                out.append((page, text[: m.start()].count("\n") + 2, m.group(2)))
    return out


def commands(body: str, first_line: int) -> list[tuple[int, list[str]]]:
    """The nnexam command lines of a shell block: (line number, argv after `nnexam`)."""
    out, pending, start = [], "", first_line
    for n, line in enumerate(body.splitlines(), first_line):
        if not pending:
            start = n
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        words, pending = shlex.split(pending + line, comments=True), ""
        cmd: list[str] = []
        for w in [*words, "&&"]:
            if w == "&&":
                if cmd and cmd[0] == "nnexam":
                    out.append((start, cmd[1:]))
                cmd = []
            else:
                cmd.append(w)
    return out


def _adapt(argv: list[str]) -> list[str]:
    argv = list(argv)
    for i, w in enumerate(argv[:-1]):
        if w in ("--students", "--pool") and int(argv[i + 1]) > MAX_CLASS:
            argv[i + 1] = str(MAX_CLASS)  # time only; see the module docstring
        if w == "--font" and not Path(argv[i + 1]).exists():
            argv[i + 1] = str(FONT)  # the font named is not installed on every machine
    return argv


def _positional(argv: list[str]) -> list[str]:
    """The positional arguments after the subcommand (every option here takes one value but the flags)."""
    flags = {"--force", "--no-pdf", "--simplex", "--duplex", "--steps", "--all", "--percent", "--no-report", "--decimal-comma"}
    out, skip = [], False
    for w in argv[1:]:
        if skip:
            skip = False
        elif w.startswith("--"):
            skip = w not in flags and "=" not in w
        else:
            out.append(w)
    return out


def _csv(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def _exam(folder: Path, pool: bool) -> None:
    """The exam a page takes for granted (`output/classic-2026` made by an earlier page, say)."""
    if not (folder / "manifest.json").exists():
        r = CliRunner().invoke(cli, ["generate", "classic", "--seed", "2026", "--pool" if pool else "--students",
                                     str(MAX_CLASS), "--out", str(folder)])
        assert r.exit_code == 0, r.output


def _inputs(argv: list[str]) -> None:
    """Make the input files the command names, as the instructor would have them."""
    cmd, pos = argv[0], _positional(argv)
    if cmd == "generate" and "--roster" in argv:
        roster = Path(argv[argv.index("--roster") + 1])
        if not roster.exists():
            roster.write_text(CLASS if "--id-column" in argv else CANVAS_EXPORT, encoding="utf-8")
    if cmd == "generate" and pos and pos[0].endswith(".toml") and not Path(pos[0]).exists():
        shutil.copy(find_bank("classic"), pos[0])  # a bank file of one's own
    if cmd in ("render", "export") and pos:
        _exam(Path(pos[-1] if cmd == "export" else pos[0]), pool=cmd == "export")
    if cmd == "check" and not Path(pos[1]).exists():
        Path(pos[1]).write_text(MAZUR_KEY, encoding="utf-8")
    if cmd == "grade":
        folder = Path(pos[0])
        _exam(folder, pool=False)
        m = load_manifest(folder)
        for sub in map(Path, pos[1:]):
            if sub.exists():
                continue
            if m.kind == "pool":  # the LMS's report of a quiz answered exactly (rounded at each question's decimals)
                exact = _exact(m)
                rows = [(str(1001 + v), "Ann", f"Lee{v}", v, [f"{x:.{q.decimals}f}" for x, q in zip(exact[v], m.questions)])
                        for v in range(len(m.students))]
                report = _canvas_report(m, rows) if "analysis" in sub.name else _moodle_report(m, rows)
                sub.write_text(report, encoding="utf-8")
            else:  # the class handed in the right answers
                shutil.copy(folder / "answer_key.csv", sub)


# README.md is the lead's to edit: its lines known to fail, with the fix (reported). Each must still
# fail as written (so this list cannot hide a new failure); once fixed in README.md it is unused.
README_FAILS: dict[str, str] = {}  # README lines known to fail, with the reason (none today)

SH = [(page, n, argv) for page, first, body in blocks("sh") for n, argv in commands(body, first)]


def test_the_docs_have_commands():
    pages = {page.name for page, _, _ in SH}
    assert {"README.md", "reference.md", "lms-quizzes.md", "keys-and-banks.md"} <= pages
    assert len(SH) >= 30


@pytest.mark.parametrize("page", sorted({page for page, _, _ in SH}), ids=lambda p: p.name)
def test_every_command_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # a --font stays the first fallback of this process after the command (cli.py never forgets it)
    monkeypatch.setattr("nnexam.fonts._USER", [])
    try:
        _run_page(page)
    finally:
        forget_user_fonts()


def _run_page(page: Path) -> None:
    failures = []
    for p, n, argv in SH:
        if p != page:
            continue
        argv = _adapt(argv)
        _inputs(argv)
        r = CliRunner().invoke(cli, argv)
        if page.name == "README.md" and shlex.join(argv) in README_FAILS:
            if r.exit_code == 0:
                failures.append(f"README.md:{n}: nnexam {shlex.join(argv)} now works: remove it from README_FAILS")
            continue
        if r.exit_code != 0:
            failures.append(f"{page.name}:{n}: nnexam {shlex.join(argv)} -> exit {r.exit_code}: {r.output.strip()[-400:]}")
    assert not failures, "\n".join(failures)


# --- TOML -----------------------------------------------------------------------------------------

TOML = blocks("toml")


def _base(data: dict) -> tuple[str, dict]:
    """What a block is: a spec, a bank, or a fragment of one merged onto the bundled file it names
    or extends (the `names` example onto Mazur's spec, `working_space` onto the classic bank)."""
    if "draws" in data or "tasks" in data:
        return "bank", data
    if "weights" in data:
        return "spec", data
    if "names" in data or "notation" in data:
        return "spec", {**tomllib.loads(find_spec("mazur_2-2-2").read_text(encoding="utf-8")), **data}
    return "bank", {**tomllib.loads(find_bank("classic").read_text(encoding="utf-8")), **data}


def test_the_docs_have_specs_and_banks():
    kinds = [_base(tomllib.loads(body))[0] for _, _, body in TOML if tomllib.loads(body)]
    assert kinds.count("spec") >= 2 and kinds.count("bank") >= 2


@pytest.mark.parametrize("page,line,body", TOML, ids=[f"{p.name}:{n}" for p, n, _ in TOML])
def test_every_toml_block_loads(page, line, body):
    data = tomllib.loads(body)
    if not data:  # comments only (the head of a `banks copy` file)
        return
    kind, full = _base(data)
    source = f"{page.name}:{line}"
    if kind == "spec":
        net = parse_spec(full, source)
        assert net.arch.layers
    else:
        bank = parse_bank(full, source, "doc")
        assert bank.tasks


def test_the_copy_header_shown_is_what_banks_copy_writes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    [shown] = [body for page, _, body in TOML if page.name == "keys-and-banks.md" and not tomllib.loads(body)]
    r = CliRunner().invoke(cli, ["banks", "copy", "classic"])
    assert r.exit_code == 0, r.output
    written = (tmp_path / "classic.toml").read_text(encoding="utf-8")
    assert written.startswith(shown), (shown, written[: len(shown)])


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    [(_, _, code)] = [b for b in blocks("python") if b[0].name == "README.md"]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.split("\n")
    assert out[0].startswith("s001 ") and out[1] == "1.0 of 24.0"  # one answer (out_h1) of 24, right
