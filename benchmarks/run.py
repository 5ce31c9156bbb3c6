"""Run every benchmark and print its figures: `python benchmarks/run.py`.

Each benchmark measures nnexam against a floor run in the same process (a ratio, so the figure
means the same on a slower or faster machine) and returns its result lines.
"""

from __future__ import annotations

import importlib.util
import platform
import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = ["bench_pdf.py", "bench_grade.py"]


def _load(file: str):
    spec = importlib.util.spec_from_file_location(file[:-3], HERE / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    for file in BENCHMARKS:
        print(f"== {file}")
        for line in _load(file).run():
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
