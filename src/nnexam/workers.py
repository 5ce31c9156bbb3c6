"""Worker processes that die with the run: a pool whose workers ignore Ctrl-C and hang-up (the
run's own process handles them), end as soon as the run's process is gone (Linux:
PR_SET_PDEATHSIG; elsewhere a thread watching the parent), and are killed, not waited for, when
the run is interrupted.
A worker that dies (killed, out of memory) is one NnexamError line, not a traceback.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Callable, Iterator

from .errors import NnexamError

_LIVE: list[ProcessPoolExecutor] = []  # pools of this process, killed by kill_all() on a signal
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    """Worker start: ignore Ctrl-C (the run handles it), die when the run's process does."""
    # Ctrl-C and a terminal's hang-up reach the whole process group: the run handles them and
    # ends its workers; SIGTERM sent to a worker alone still ends it.
    for name, action in (("SIGINT", signal.SIG_IGN), ("SIGHUP", signal.SIG_IGN), ("SIGTERM", signal.SIG_DFL)):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), action)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the run ended before prctl took effect
        os._exit(1)

    def watch() -> None:  # where prctl is missing; cheap where it is not
        while os.getppid() == parent:
            time.sleep(0.25)
        os._exit(1)

    threading.Thread(target=watch, name="nnexam-parent-watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def context():
    """fork where the platform has it (workers are this process's own children, started before
    any thread of the pool: see ProcessPoolExecutor); the platform's default elsewhere."""
    if "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class Pool:
    """A process pool for `what` (e.g. "rendering PDFs") whose workers die with the run."""

    def __init__(self, jobs: int, what: str, initializer: Callable | None = None, initargs: tuple = (), *,
                 fork: bool = False):
        """fork=True: workers must inherit this process's memory (the caller checked fork exists)."""
        self.what = what
        mp = multiprocessing.get_context("fork") if fork else context()
        self.executor = ProcessPoolExecutor(jobs, mp_context=mp, initializer=_die_with,
                                            initargs=(os.getpid(), initializer, initargs))
        _LIVE.append(self.executor)

    def submit(self, fn: Callable, *args) -> Future:
        """The work queued; a worker that already died (the pool is broken) is NnexamError(..., 1)."""
        try:
            return self.executor.submit(fn, *args)
        except BrokenProcessPool:  # a worker died while later work was still being queued
            raise self._died() from None

    def results(self, futures: list[Future]) -> Iterator:
        """Each future's result as it finishes; a dead worker is NnexamError(..., 1)."""
        try:
            for f in as_completed(futures):
                yield f.result()
        except BrokenProcessPool:
            raise self._died() from None

    def _died(self) -> NnexamError:
        self.kill()
        time.sleep(0.1)  # workers killed with the run (kill -TERM to the group): the run's own signal comes first
        return NnexamError(f"a worker process {self.what} died (killed, or out of memory?); "
                           "the output folder was left as it was", 1)

    def close(self) -> None:
        """Wait for the workers to end (after their work is done)."""
        self.executor.shutdown(wait=True)
        if self.executor in _LIVE:
            _LIVE.remove(self.executor)

    def kill(self) -> None:
        """Kill the workers now; their pending work is dropped."""
        kill(self.executor)
        if self.executor in _LIVE:
            _LIVE.remove(self.executor)


@contextmanager
def pool(jobs: int, what: str, initializer: Callable | None = None, initargs: tuple = ()) -> Iterator[Pool]:
    """A Pool, closed when the block ends normally, killed when it ends by an exception."""
    p = Pool(jobs, what, initializer, initargs)
    try:
        yield p
    except BaseException:
        p.kill()
        raise
    p.close()


def kill(executor: ProcessPoolExecutor) -> None:
    """Kill the pool's workers at once and drop its pending work."""
    processes = dict(getattr(executor, "_processes", None) or {})  # no public way before Python 3.14
    for p in processes.values():
        try:
            p.kill()
        except (OSError, AttributeError):
            pass
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except Exception:  # a broken pool may complain; its workers are dead either way
        pass
    for p in processes.values():
        try:
            p.join(1)
        except (OSError, AssertionError, ValueError):
            pass


def kill_all() -> None:
    """Kill every live pool of this process (on a signal, before exiting)."""
    for executor in list(_LIVE):
        kill(executor)
        _LIVE.remove(executor)
