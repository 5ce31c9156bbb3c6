"""Output folders: replaced as a whole, never written through a link, inputs never overwritten,
files nnexam did not write kept by --force, unusable folders refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnexam import cli as cli_module
from nnexam.cli import cli
from nnexam.errors import NnexamError


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line(r, code: int, *words: str) -> None:
    """Exit `code` with exactly one nnexam line on stderr holding `words`, no traceback."""
    lines = [line for line in r.stderr.splitlines() if line.startswith("nnexam:")]
    assert r.exit_code == code, r.output
    assert len(lines) == 1 and all(w in lines[0] for w in words), r.stderr
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)


@pytest.fixture(scope="module")
def exam_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("safety") / "exam"
    r = invoke("generate", "--seed", "old", "--students", "3", "--out", folder, "--jobs", "1")
    assert r.exit_code == 0, r.output
    return folder


@pytest.fixture
def exam(exam_template, tmp_path) -> Path:
    return Path(shutil.copytree(exam_template, tmp_path / "exam", symlinks=True))


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A folder outside every output folder, with a file in it that must stay as it is."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "s001.pdf").write_bytes(b"not nnexam's")
    return folder


# --- never outside the folder ---------------------------------------------------------------


def test_a_planted_sheets_link_leaves_its_target_untouched(exam, elsewhere):
    shutil.rmtree(exam / "sheets")
    (exam / "sheets").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    r = invoke("generate", "--seed", "new", "--students", "2", "--out", exam, "--force", "--jobs", "1")
    one_line(r, 2, "sheets: is a symbolic link")
    assert snapshot(elsewhere) == before and os.path.islink(exam / "sheets")


def test_render_never_writes_through_a_symlinked_keys_folder(exam, elsewhere):
    for p in (exam / "keys").iterdir():
        shutil.copy(p, elsewhere / p.name)
    shutil.rmtree(exam / "keys")
    (exam / "keys").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    r = invoke("render", exam, "--force", "--paper", "letter", "--jobs", "1")
    one_line(r, 2, "keys: is a symbolic link")
    assert snapshot(elsewhere) == before


def test_a_planted_staging_link_reroutes_nothing(exam, elsewhere, tmp_path):
    # nnexam before this change staged in DIR/.nnexam-staging-<pid>; a link there got every file.
    (exam / f".nnexam-staging-{os.getpid()}").symlink_to(elsewhere, target_is_directory=True)
    # and a link named like today's staging, beside the folder
    (tmp_path / ".nnexam-staging-999999999-0badc0de").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    r = invoke("render", exam, "--force", "--jobs", "1")
    assert r.exit_code == 0, r.output
    assert snapshot(elsewhere) == before
    assert sorted(os.listdir(elsewhere)) == ["s001.pdf"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".nnexam-staging")]
    assert not [p for p in exam.iterdir() if p.name.startswith(".nnexam-staging")]


def test_an_export_named_manifest_json_never_overwrites_the_manifest(exam, tmp_path):
    manifest = (exam / "manifest.json").read_bytes()
    answers = tmp_path / "answers.csv"
    answers.write_bytes((exam / "answer_key.csv").read_bytes())
    export = tmp_path / "manifest.json"
    export.write_text("ID number,Exam\ns001,\ns002,\ns003,\n")
    r = invoke("grade", exam, answers, "--out", exam, "--force", "--lms-export", export, "--no-report")
    one_line(r, 2, "manifest.json", "is an input")
    assert (exam / "manifest.json").read_bytes() == manifest


def test_submissions_named_grades_csv_in_the_out_folder_are_refused(exam, tmp_path):
    out = tmp_path / "g"
    answers = tmp_path / "answers.csv"
    answers.write_bytes((exam / "answer_key.csv").read_bytes())
    assert invoke("grade", exam, answers, "--out", out, "--no-report").exit_code == 0
    (out / "grades.csv").write_bytes(answers.read_bytes())  # the submissions saved where grades.csv goes
    kept = (out / "grades.csv").read_bytes()
    r = invoke("grade", exam, out / "grades.csv", "--out", out, "--force", "--no-report")
    one_line(r, 2, "grades.csv", "is an input")
    assert (out / "grades.csv").read_bytes() == kept


def test_a_roster_inside_the_exam_folder_at_an_output_name_is_refused(tmp_path):
    out = tmp_path / "exam"
    out.mkdir()
    (out / "answer_key.csv").write_text("student_id\nA1\nB2\n")
    r = invoke("generate", "--seed", "1", "--roster", out / "answer_key.csv", "--out", out, "--force", "--no-pdf")
    one_line(r, 2, "is an input")
    assert (out / "answer_key.csv").read_text() == "student_id\nA1\nB2\n"


# --- --force removes only what nnexam wrote -------------------------------------------------


def test_force_keeps_files_nnexam_never_wrote(exam):
    (exam / "sheets" / "my_solution.pdf").write_bytes(b"%PDF- mine")
    (exam / "notes.txt").write_text("room 101")
    r = invoke("generate", "--seed", "new", "--students", "2", "--out", exam, "--force", "--jobs", "1")
    assert r.exit_code == 0, r.output
    assert (exam / "sheets" / "my_solution.pdf").read_bytes() == b"%PDF- mine" and (exam / "notes.txt").exists()
    assert "kept 2 files nnexam did not write: notes.txt, sheets/my_solution.pdf" in r.stderr
    assert sorted(os.listdir(exam / "keys")) == ["s001.pdf", "s002.pdf"]  # the old exam's s003 is gone
    assert sorted(os.listdir(exam / "sheets")) == ["my_solution.pdf", "s001.pdf", "s002.pdf"]


def test_grade_force_replaces_its_own_files_and_keeps_others(exam, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_bytes((exam / "answer_key.csv").read_bytes())
    out = tmp_path / "g"
    export = tmp_path / "export.csv"
    export.write_text("ID number,Exam\ns001,\ns002,\ns003,\n")
    assert invoke("grade", exam, answers, "--out", out, "--no-report", "--lms-export", export).exit_code == 0
    (out / "feedback" / "README.md").write_text("how to read these")
    r = invoke("grade", exam, answers, "--out", out, "--force", "--no-report")
    assert r.exit_code == 0, r.output
    assert (out / "feedback" / "README.md").read_text() == "how to read these"
    # the earlier run's export copy was nnexam's: a stale one is not left beside the new grades
    assert sorted(os.listdir(out)) == [".nnexam-files", "canvas.csv", "feedback", "grades.csv", "moodle.csv"]


def test_a_failed_grade_force_leaves_the_old_grading_output_whole(exam, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_bytes((exam / "answer_key.csv").read_bytes())
    out = tmp_path / "g"
    assert invoke("grade", exam, answers, "--out", out, "--no-report").exit_code == 0
    before = snapshot(out)
    rows = answers.read_text().splitlines(keepends=True)
    answers.write_text(rows[0] + rows[1])  # the new run: one student
    (out / "moodle.csv").unlink()
    (out / "moodle.csv").mkdir()  # a folder where a file goes: writing fails after the feedback is made
    del before["moodle.csv"]
    r = invoke("grade", exam, answers, "--out", out, "--force")
    one_line(r, 1, "moodle.csv", "cannot write")
    assert snapshot(out) == before  # the old feedback/, grades.csv, canvas.csv: nothing of the new run
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_output_folder_removed_during_grading_is_reported_not_counted(exam, tmp_path, monkeypatch):
    answers = tmp_path / "answers.csv"
    answers.write_bytes((exam / "answer_key.csv").read_bytes())
    finish = cli_module._FeedbackFolder.finish

    def finish_then_lose_one(self):
        n = finish(self)
        for folder in tmp_path.glob(".*/feedback"):  # someone cleans the hidden folder meanwhile
            next(folder.iterdir()).unlink()
        for folder in tmp_path.glob("g/.feedback.tmp-*"):  # (where nnexam staged it before)
            next(folder.iterdir()).unlink()
        return n

    monkeypatch.setattr(cli_module._FeedbackFolder, "finish", finish_then_lose_one)
    r = invoke("grade", exam, answers, "--out", tmp_path / "g", "--no-report")
    one_line(r, 1, "1 of the", "vanished")
    assert not (tmp_path / "g").exists()


# --- stale staging ------------------------------------------------------------------------


def test_staging_a_killed_run_left_is_removed_by_the_next_with_a_note(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    base = tmp_path / f".nnexam-staging-{dead.pid}-0123abcd"
    (base / "sheets").mkdir(parents=True)
    (base / "sheets" / "s001.pdf").write_bytes(b"%PDF- half")
    Path(f"{base}.owner").write_text(json.dumps({"pid": dead.pid, "start": "1", "command": "generate", "target": "exam"}))
    out = tmp_path / "exam"
    out.mkdir()
    (out / ".feedback.old-4242").mkdir()  # what nnexam before this change left inside folders
    r = invoke("generate", "--seed", "1", "--students", "2", "--out", out, "--no-pdf")
    assert r.exit_code == 0, r.output  # the leftover alone does not make the folder "not empty"
    assert f"removed what an interrupted generate (pid {dead.pid}) left" in r.stderr
    assert "removed what an interrupted earlier run left (.feedback.old-4242)" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exam"]
    assert not (out / ".feedback.old-4242").exists()


def test_a_half_done_swap_is_undone_by_the_next_run(exam, tmp_path):
    """Where the one-step exchange is missing, a run killed between its two renames leaves the old
    folder under the staging name: the next run puts it back."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    before = snapshot(exam)
    base = tmp_path / f".nnexam-staging-{dead.pid}-89abcdef"
    os.rename(exam, f"{base}.old")
    Path(f"{base}.owner").write_text(json.dumps({"pid": dead.pid, "start": "1", "command": "render", "target": "exam"}))
    r = invoke("render", exam, "--jobs", "1")
    assert r.exit_code == 2 and r.stderr.splitlines()[0] == f"nnexam: note: {exam}: put back as it was before an interrupted render (pid {dead.pid})"
    assert "exists" in r.stderr.splitlines()[1] and len(r.stderr.splitlines()) == 2  # the restored folder has its PDFs
    assert snapshot(exam) == before and sorted(p.name for p in tmp_path.iterdir()) == ["exam"]


# --- output folders that cannot be used, in one line ----------------------------------------


def test_unusable_output_folders_are_one_line(tmp_path, exam):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "deeper")
    answers = tmp_path / "answers.csv"
    answers.write_bytes((exam / "answer_key.csv").read_bytes())
    cases = [(tmp_path / "file" / "exam", 2, "is a file, not a folder"),
             (tmp_path / "dangling", 2, "which does not exist"),
             (tmp_path / ("x" * 300), 2, "longer than 255 bytes")]
    for out, code, words in cases:
        one_line(invoke("generate", "--seed", "1", "--students", "2", "--out", out, "--no-pdf"), code, words)
        one_line(invoke("grade", exam, answers, "--out", out, "--no-report"), code, words)
    assert not (tmp_path / "nowhere").exists()


def test_the_folder_you_are_in_is_not_replaced_from_under_you(exam, monkeypatch):
    monkeypatch.chdir(exam / "sheets")
    r = invoke("render", "..", "--force", "--jobs", "1")
    one_line(r, 2, "is (or holds) the current folder", "cd ..")


def test_a_read_only_output_folder_is_one_line(tmp_path, exam):
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root on Linux to mount a read-only tmpfs (root ignores chmod)")
    try:
        answers = tmp_path / "answers.csv"
        answers.write_bytes((exam / "answer_key.csv").read_bytes())
        one_line(invoke("generate", "--seed", "1", "--students", "2", "--out", ro / "exam", "--no-pdf"), 1, "read-only")
        one_line(invoke("grade", exam, answers, "--out", ro / "g", "--no-report"), 1, "read-only")
        one_line(invoke("generate", "--seed", "1", "--students", "2", "--out", ro, "--no-pdf", "--force"), 1, "read-only")
        subprocess.run(["umount", str(ro)], capture_output=True)
        assert subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(ro)]).returncode == 0
        one_line(invoke("generate", "--seed", "1", "--students", "2", "--out", ro, "--no-pdf"), 2, "mount point")
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


# --- workers and progress -------------------------------------------------------------------


def _suicide(indices):
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_render_worker_is_one_line(exam, monkeypatch):
    before = snapshot(exam)
    monkeypatch.setattr("nnexam.render.batch._render_chunk", _suicide)
    r = invoke("render", exam, "--force", "--jobs", "2")
    one_line(r, 1, "worker process rendering PDFs died")
    assert snapshot(exam) == before


def test_grading_a_big_class_shows_progress(exam, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_PROGRESS_FROM", 2)
    answers = tmp_path / "answers.csv"
    answers.write_bytes((exam / "answer_key.csv").read_bytes())
    r = invoke("grade", exam, answers, "--out", tmp_path / "g", "--no-report")
    assert r.exit_code == 0 and "Writing feedback" in r.stderr and "Writing feedback" not in r.stdout


def test_where_folders_cannot_be_exchanged_two_renames_give_the_same_result(exam, tmp_path, monkeypatch):
    monkeypatch.setattr("nnexam.staging._exchange", lambda a, b: False)
    r = invoke("generate", "--seed", "new", "--students", "2", "--out", exam, "--force", "--no-pdf")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exam"]
    assert not (exam / "sheets").exists() and b'"seed": "new"' in (exam / "manifest.json").read_bytes()


def test_a_reused_pid_does_not_keep_stale_staging_alive(tmp_path):
    """The owner file records the process's start time: a live process with the same pid but
    another start time is not the owner."""
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        base = tmp_path / f".nnexam-staging-{live.pid}-00000001"
        base.mkdir()
        Path(f"{base}.owner").write_text(json.dumps({"pid": live.pid, "start": "1", "command": "grade", "target": "g"}))
        mine = tmp_path / f".nnexam-staging-{live.pid}-00000002"  # no start time recorded: the live pid is trusted
        mine.mkdir()
        r = invoke("generate", "--seed", "1", "--students", "2", "--out", tmp_path / "exam", "--no-pdf")
        assert r.exit_code == 0 and f"interrupted grade (pid {live.pid})" in r.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name, "exam"]
    finally:
        live.kill()
        live.wait()


def test_write_atomic_where_the_folder_cannot_be_made_is_one_nnexam_error(tmp_path):
    # banks copy's writer: a file where its folder should be was a bare NotADirectoryError from mkdir
    from nnexam.files import write_atomic

    (tmp_path / "file").write_text("x")
    with pytest.raises(NnexamError, match=r"file/sub/bank\.toml: cannot write \(Not a directory\)"):
        write_atomic(tmp_path / "file" / "sub" / "bank.toml", "data")
    assert (tmp_path / "file").read_text() == "x"


def test_write_atomic_stopped_by_a_signal_leaves_no_temporary_file(tmp_path, monkeypatch):
    # banks copy stopped by Ctrl-C at the rename: its hidden .NAME.*.tmp stayed (only OSError cleaned up)
    from nnexam import files
    from nnexam.signals import Interrupted

    def stopped(src, dst):
        raise Interrupted(signal.SIGINT)

    monkeypatch.setattr(files.os, "replace", stopped)
    with pytest.raises(Interrupted):
        files.write_atomic(tmp_path / "bank.toml", "data")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("args", [["solve", "mazur_2-2-2", "--steps"], ["banks", "show", "classic"], ["--help"],
                                  ["grade", "--help"]])
def test_printing_to_a_full_disk_is_one_line_not_a_traceback(args):
    # today: `nnexam solve X > /dev/full` ended in a 30-line OSError traceback
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "nnexam", *args], stdout=full, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == ["nnexam: error: cannot write (No space left on device); any output folder is "
                                     "complete or as it was"], r.stderr


def test_a_worker_dead_while_work_is_still_queued_is_one_line(monkeypatch):
    """BrokenProcessPool can come from submit() (a worker died while later chunks were queued), not
    only from a result: that too is the one line, not an exception (it was, now and then)."""
    from concurrent.futures.process import BrokenProcessPool

    from nnexam.errors import NnexamError
    from nnexam.workers import Pool

    workers = Pool(1, "rendering PDFs")
    try:
        monkeypatch.setattr(workers.executor, "submit", lambda *a, **k: (_ for _ in ()).throw(BrokenProcessPool("dead")))
        with pytest.raises(NnexamError, match="worker process rendering PDFs died"):
            workers.submit(print, 1)
    finally:
        workers.kill()


def test_the_listing_is_the_same_bytes_whatever_order_the_workers_finish(exam, tmp_path, monkeypatch):
    from nnexam import staging

    out = tmp_path / "o"
    first = staging.Output(out, "grade", force=True)
    with first:
        first.write("b.txt", "b")
        first.write("a.txt", "a")
    listing = (out / ".nnexam-files").read_text()
    assert listing.splitlines()[1:] == ["grade\ta.txt", "grade\tb.txt"]
