"""SIGINT, SIGTERM and SIGHUP as one exception that unwinds the run (staging folders are discarded
on the way), then one line and the conventional exit status 128 + signal. Light on imports: the
entry point installs it before anything heavy loads.
"""

from __future__ import annotations

import os
import signal
import sys


class Interrupted(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived: unwinds the run (staging folders are discarded on the way)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.outputs: list[tuple[str, bool]] = []  # (output folder, whether it was already replaced)


_CAUGHT: list[int] = []
SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _on_signal(signum: int, frame) -> None:
    if _CAUGHT:  # a second signal while the first unwinds: stop now, the next run cleans up
        os.write(2, f"nnexam: interrupted by {signal.Signals(_CAUGHT[0]).name}\n".encode())
        os._exit(128 + _CAUGHT[0])
    _CAUGHT.append(signum)
    raise Interrupted(signum)


def catch_signals() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into Interrupted (for the console entry point only)."""
    for s in SIGNALS:
        signal.signal(s, _on_signal)


def exit_interrupted(e: Interrupted) -> None:
    """Kill the workers, print one line and end the process with the conventional status (128 + signal)."""
    workers = sys.modules.get("nnexam.workers")
    if workers is not None:
        workers.kill_all()
    line = f"nnexam: interrupted by {signal.Signals(e.signum).name}"
    for out, done in e.outputs:
        line += f"; {out} {'was already replaced by the new output' if done else 'is as it was'}"
    try:
        sys.stdout.flush()
    except Exception:
        pass
    os.write(2, (line + "\n").encode())
    os._exit(128 + e.signum)
