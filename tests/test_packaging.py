"""Any checkout, any platform: no symlinks in the repository, and a built wheel carries the bundled
banks (from problem_banks/, the one copy) so that an installed nnexam generates from them."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_repository_holds_no_symlinks():
    # Mode 120000 is a symlink in git's index; Git for Windows checks those out as text files.
    links = [line.split("\t", 1)[1] for line in _git("ls-files", "-s").splitlines() if line.startswith("120000")]
    assert links == []


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src" / "nnexam").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
    assert config["package-dir"]["nnexam.banks"] == "problem_banks"


@pytest.mark.wheel
def test_a_built_wheel_generates_from_a_bundled_bank(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
                           capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("nnexam-*.whl")
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=60)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies (numpy, click, reportlab) come from this test's environment as a plain path
    # entry: its .pth files (the editable nnexam among them) are not run, so nnexam is the wheel's.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # pip >= 22.3 installs into another environment with --python (the fresh one has no pip).
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=120)
    assert install.returncode == 0, install.stderr[-2000:]
    work = tmp_path / "work"  # no problem_banks/ here: only the installed package can provide the banks
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        script = bin_dir / ("nnexam.exe" if os.name == "nt" else "nnexam")  # the console script the wheel installs
        return subprocess.run([str(script), *args], cwd=work, capture_output=True, text=True, timeout=120)

    where = subprocess.run([str(python), "-c", "import nnexam.bank as b; print(b.__file__); print(b.bundled_dir())"],
                           cwd=work, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_relative_to(env_dir) for p in where), where
    banks = run("banks")
    assert banks.returncode == 0, banks.stderr
    *bank_lines, examples = banks.stdout.splitlines()
    listed = {line.split()[0] for line in bank_lines if line and not line[0].isspace()}
    assert examples.startswith("examples (nnexam solve NAME): ") and "mazur_2-2-2" in examples
    assert listed == {p.stem for p in (ROOT / "problem_banks").glob("*.toml")}
    made = run("generate", "relu-3-2-1", "--seed", "wheel", "--students", "3", "--no-pdf", "--out", "exam")
    assert made.returncode == 0, made.stderr
    assert "3 students" in made.stdout and (work / "exam" / "manifest.json").is_file()
    example = Path(where[1]) / "examples" / "mazur_2-2-2.toml"
    assert run("solve", "mazur_2-2-2").stdout == run("solve", str(example)).stdout  # by name, from the wheel
    solved = run("solve", str(example))
    assert solved.returncode == 0, solved.stderr
    # seeds/003 (Mazur's worked example): the forward pass gives E_total = 0.298371109
    assert "0.2984" in solved.stdout

