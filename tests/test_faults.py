"""Runs stopped by signals and full disks: the output folder is afterwards entirely the old output
or entirely the new, file for file; no staging is left after the next run; no process survives.

Each run is the real command (`python -m nnexam`) in a subprocess. NNEXAM_TEST_PAUSE=<phase>
makes it wait at a named moment (staging.pause) so the signal lands there every time:
"staged" (staging folder made), "writing" (PDFs being written, render workers alive), "feedback"
(feedback workers alive), "written" (all files made, nothing swapped yet), "swapped" (the new
folder in place, the old not yet removed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnexam.cli import cli

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def staging_left(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".nnexam-staging"))


def processes_with(token: str) -> list[int]:
    """Pids of live processes (zombies excepted) whose environment holds `token`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in env and state != b"Z":
            found.append(int(entry))
    return found


def run_until(args: list[str], phase: str, sig: int, cwd: Path, group: bool = False) -> tuple[int, str, float]:
    """Start `nnexam ARGS`, wait for it to reach `phase`, send `sig` (to its whole process group, as
    a terminal's Ctrl-C or hang-up does, if `group`); (status, stderr, seconds to end)."""
    token = f"NNEXAM_FAULT_{uuid.uuid4().hex}"
    env = {**os.environ, "NNEXAM_TEST_PAUSE": phase, "NNEXAM_FAULT_TOKEN": token}
    proc = subprocess.Popen([sys.executable, "-m", "nnexam", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=group)
    seen = b""
    deadline = time.monotonic() + 60
    while f"test pause at {phase}".encode() not in seen:
        line = proc.stderr.readline()
        assert line and time.monotonic() < deadline, f"never reached {phase}: {seen.decode()}"
        seen += line
    if phase in ("writing", "feedback"):
        time.sleep(0.3)  # let the workers get busy
    sent = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    took = time.monotonic() - sent
    deadline = time.monotonic() + 3
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(token) == [], "a process of the run survived"
    return proc.returncode, (seen + err).decode(), took


@pytest.fixture(scope="module")
def old_exam(tmp_path_factory) -> Path:
    """An exam folder of seed 'old' (PDFs and all), made once; tests copy it."""
    folder = tmp_path_factory.mktemp("faults") / "exam"
    r = CliRunner().invoke(cli, ["generate", "--seed", "old", "--students", "3", "--out", str(folder), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    return folder


def copy_of(folder: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(folder, to, symlinks=True)
    return to


def check_stopped(status: int, err: str, took: float, sig: int) -> None:
    lines = [line for line in err.splitlines() if line.startswith("nnexam:") and "test pause" not in line]
    if sig == signal.SIGKILL:
        assert status == -signal.SIGKILL
    else:
        assert status == EXIT[sig], err
        assert len(lines) == 1 and lines[0].startswith(f"nnexam: interrupted by {signal.Signals(sig).name}"), err
    assert "Traceback" not in err, err
    assert took < 2.0, f"took {took:.2f} s to stop"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP, signal.SIGTERM])
def test_a_terminals_ctrl_c_or_hang_up_reaches_every_worker_and_still_gives_one_line(old_exam, tmp_path, sig):
    exam = copy_of(old_exam, tmp_path / "exam")
    before = snapshot(exam)
    args = ["generate", "--seed", "new", "--students", "6", "--out", "exam", "--force", "--jobs", "2"]
    status, err, took = run_until(args, "writing", sig, tmp_path, group=True)
    check_stopped(status, err, took, sig)
    assert snapshot(exam) == before and staging_left(tmp_path) == []


@pytest.mark.parametrize("command,jobs,phase,sig", [
    ("generate", "2", "writing", signal.SIGINT),
    ("generate", "2", "writing", signal.SIGTERM),
    ("generate", "2", "writing", signal.SIGHUP),
    ("generate", "2", "writing", signal.SIGKILL),
    ("generate", "1", "written", signal.SIGTERM),
    ("generate", "1", "staged", signal.SIGKILL),
    ("render", "2", "writing", signal.SIGINT),
    ("render", "1", "written", signal.SIGKILL),
])
def test_a_stopped_generate_or_render_leaves_the_old_exam(old_exam, tmp_path, command, jobs, phase, sig):
    exam = copy_of(old_exam, tmp_path / "exam")
    before = snapshot(exam)
    if command == "generate":
        args = ["generate", "--seed", "new", "--students", "4", "--out", "exam", "--force", "--jobs", jobs]
    else:
        args = ["render", "exam", "--force", "--paper", "letter", "--jobs", jobs]
    status, err, took = run_until(args, phase, sig, tmp_path)
    check_stopped(status, err, took, sig)
    assert snapshot(exam) == before  # entirely the old output
    if sig != signal.SIGKILL:
        assert staging_left(tmp_path) == []
    # The next run removes what a killed one left, says so, and writes the new output whole.
    r = CliRunner().invoke(cli, ["generate", "--seed", "new", "--students", "2", "--out", str(exam), "--force", "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert staging_left(tmp_path) == []
    assert ("removed what an interrupted" in r.stderr) == (sig == signal.SIGKILL)
    assert not (exam / "sheets").exists() and b'"seed": "new"' in (exam / "manifest.json").read_bytes()


@pytest.mark.parametrize("delay,sig", [(0.3, signal.SIGINT), (0.9, signal.SIGTERM), (1.6, signal.SIGHUP)])
def test_a_signal_at_an_unplanned_moment_leaves_old_or_new(old_exam, tmp_path, delay, sig):
    """No pause hook: the signal lands wherever the run happens to be (start-up included)."""
    exam = copy_of(old_exam, tmp_path / "exam")
    before = snapshot(exam)
    token = f"NNEXAM_FAULT_{uuid.uuid4().hex}"
    proc = subprocess.Popen([sys.executable, "-m", "nnexam", "generate", "--seed", "new", "--students", "12", "--out", "exam",
                             "--force", "--jobs", "2"], cwd=tmp_path, env={**os.environ, "NNEXAM_FAULT_TOKEN": token},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    took = time.monotonic() - sent
    time.sleep(0.3)
    assert processes_with(token) == []
    if proc.returncode == 0:  # finished first: the new output, whole
        assert b'"seed": "new"' in (exam / "manifest.json").read_bytes() and len(os.listdir(exam / "sheets")) == 12
    elif proc.returncode == -sig and not err.strip():
        # On a loaded machine the interpreter can still be starting when the signal lands, before
        # nnexam has installed its handlers (no program can earlier): nothing had begun, so the
        # signal's default ends it and the folder must be the old one. Once nnexam has said
        # anything, its handlers are in place and this branch cannot be taken.
        assert snapshot(exam) == before
    else:
        check_stopped(proc.returncode, err.decode(), took, sig)
        assert snapshot(exam) == before
    assert staging_left(tmp_path) == []


def test_a_signal_after_the_swap_leaves_the_new_output_complete(old_exam, tmp_path):
    exam = copy_of(old_exam, tmp_path / "exam")
    ref = tmp_path / "ref"
    assert CliRunner().invoke(cli, ["generate", "--seed", "new", "--students", "2", "--out", str(ref), "--no-pdf"]).exit_code == 0
    status, err, took = run_until(["generate", "--seed", "new", "--students", "2", "--out", "exam", "--force", "--no-pdf"],
                                  "swapped", signal.SIGTERM, tmp_path)
    check_stopped(status, err, took, signal.SIGTERM)
    assert "was already replaced by the new output" in err
    assert snapshot(exam) == snapshot(ref)  # entirely the new output
    assert staging_left(tmp_path) == []


@pytest.fixture(scope="module")
def big_exam(tmp_path_factory) -> tuple[Path, Path]:
    """4,000 students (enough for feedback workers), no PDFs, and a submissions file."""
    folder = tmp_path_factory.mktemp("faults-grade") / "exam"
    r = CliRunner().invoke(cli, ["generate", "--seed", "g", "--students", "4000", "--no-pdf", "--out", str(folder)])
    assert r.exit_code == 0, r.output
    answers = folder.parent / "answers.csv"
    answers.write_bytes((folder / "answer_key.csv").read_bytes())
    return folder, answers


@pytest.mark.parametrize("jobs,phase,sig", [
    ("2", "feedback", signal.SIGINT),
    ("2", "feedback", signal.SIGTERM),
    ("2", "feedback", signal.SIGKILL),
    ("1", "written", signal.SIGHUP),
])
def test_a_stopped_grade_leaves_the_old_grades(big_exam, tmp_path, jobs, phase, sig):
    exam, answers = big_exam
    out = tmp_path / "grades"
    half = tmp_path / "half.csv"
    half.write_text("".join(answers.read_text().splitlines(keepends=True)[:1001]))  # 1,000 students: the old run
    r = CliRunner().invoke(cli, ["grade", str(exam), str(half), "--out", str(out), "--no-report"])
    assert r.exit_code == 0, r.output
    before = snapshot(out)
    status, err, took = run_until(["grade", str(exam), str(answers), "--out", "grades", "--force", "--no-report", "--jobs", jobs],
                                  phase, sig, tmp_path)
    check_stopped(status, err, took, sig)
    assert snapshot(out) == before
    r = CliRunner().invoke(cli, ["grade", str(exam), str(half), "--out", str(out), "--force", "--no-report"])
    assert r.exit_code == 0 and staging_left(tmp_path) == []
    assert snapshot(out) == before  # same input, same files


def test_a_second_ctrl_c_ends_the_run_the_same_way(old_exam, tmp_path):
    exam = copy_of(old_exam, tmp_path / "exam")
    before = snapshot(exam)
    token = f"NNEXAM_FAULT_{uuid.uuid4().hex}"
    env = {**os.environ, "NNEXAM_TEST_PAUSE": "writing", "NNEXAM_FAULT_TOKEN": token}
    proc = subprocess.Popen([sys.executable, "-m", "nnexam", "render", "exam", "--force", "--jobs", "2"], cwd=tmp_path,
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    while b"test pause at writing" not in proc.stderr.readline():
        pass
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and b"Traceback" not in err
    assert [line for line in err.decode().splitlines() if "interrupted" in line][0].startswith("nnexam: interrupted by SIGINT")
    time.sleep(0.3)
    assert processes_with(token) == []
    assert snapshot(exam) == before


@pytest.mark.parametrize("phase,sig", [("written", signal.SIGTERM), ("staged", signal.SIGKILL), ("written", signal.SIGINT)])
def test_a_stopped_export_leaves_the_exam_and_its_old_quiz(tmp_path, phase, sig):
    # export writes beside the exam's own files (DIR/moodle.xml): stopped, the folder is as it was
    pool = tmp_path / "pool"
    runner = CliRunner()
    assert runner.invoke(cli, ["generate", "--seed", "p", "--pool", "3", "--out", str(pool), "--no-pdf"]).exit_code == 0
    assert runner.invoke(cli, ["export", "moodle", str(pool), "--title", "old"]).exit_code == 0
    before = snapshot(pool)
    status, err, took = run_until(["export", "moodle", "pool", "--force", "--title", "new"], phase, sig, tmp_path)
    check_stopped(status, err, took, sig)
    assert snapshot(pool) == before
    r = runner.invoke(cli, ["export", "moodle", str(pool), "--force", "--title", "new"])
    assert r.exit_code == 0 and staging_left(tmp_path) == [], r.output
    assert ("removed what an interrupted export" in r.stderr) == (sig == signal.SIGKILL)
    assert b"new" in (pool / "moodle.xml").read_bytes() and snapshot(pool)["manifest.json"] == before["manifest.json"]


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_full_disk_leaves_the_old_output_and_no_staging(tmp_path):
    disk = tmp_path / "disk"
    if not _tmpfs(disk, "1m"):
        pytest.skip("needs root on Linux to mount a small tmpfs")
    try:
        exam = disk / "exam"
        runner = CliRunner()
        assert runner.invoke(cli, ["generate", "--seed", "old", "--students", "2", "--out", str(exam), "--jobs", "1"]).exit_code == 0
        before = snapshot(exam)
        r = runner.invoke(cli, ["generate", "--seed", "new", "--students", "12", "--out", str(exam), "--force", "--jobs", "1"])
        assert r.exit_code == 1 and "No space left on device" in r.stderr, r.stderr
        assert [line for line in r.stderr.splitlines() if line.startswith("nnexam:")] == [r.stderr.splitlines()[-1]]
        assert "Traceback" not in r.output
        assert snapshot(exam) == before and staging_left(disk) == []
        # grading into the full disk: the old grades stay
        answers = tmp_path / "answers.csv"
        answers.write_bytes((exam / "answer_key.csv").read_bytes())
        grades = disk / "grades"
        assert runner.invoke(cli, ["grade", str(exam), str(answers), "--out", str(grades), "--no-report"]).exit_code == 0
        old_grades = snapshot(grades)
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(b"x" * (free - 24 * 1024))  # room for a few feedback files, not the report
        r = runner.invoke(cli, ["grade", str(exam), str(answers), "--out", str(grades), "--force"])
        assert r.exit_code == 1 and "No space left on device" in r.stderr and "Traceback" not in r.output, r.output
        assert snapshot(grades) == old_grades and staging_left(disk) == []
        # export and banks copy into the full disk: one line each, nothing half-written left
        (disk / "filler").unlink()
        pool = disk / "pool"
        assert runner.invoke(cli, ["generate", "--seed", "p", "--pool", "2", "--out", str(pool), "--no-pdf"]).exit_code == 0
        old_pool = snapshot(pool)
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(b"x" * free)
        for args in (["export", "moodle", str(pool)], ["export", "canvas", str(pool), "--out", str(disk / "q")],
                     ["banks", "copy", "classic", str(disk / "mine.toml")]):
            r = runner.invoke(cli, args)
            assert r.exit_code == 1 and "No space left on device" in r.stderr and "Traceback" not in r.output, (args, r.output)
        assert snapshot(pool) == old_pool and staging_left(disk) == []
        assert sorted(os.listdir(disk)) == ["exam", "filler", "grades", "pool"]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
