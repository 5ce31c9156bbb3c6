"""Output folders replaced as a whole: entirely the old output or entirely the new, never a mix.

Every command that writes a folder (generate, render, grade, export) builds the complete new
folder in a staging folder beside it (`.nnexam-staging-<pid>-<random>`, same filesystem, with a
marker file `<name>.owner` naming the process), then swaps it in with one rename (Linux:
renameat2 RENAME_EXCHANGE; elsewhere two renames that the next run undoes if it finds the
first one alone). Whatever stops a run before the swap (an error, a full disk, a signal,
SIGKILL), the target is untouched; staging left by a dead run is removed by the next one, with a
note.

Files of the old folder that this run does not replace are carried into the new one as hard
links (no data copied): files other nnexam commands wrote, and files nnexam never wrote, which
`--force` keeps. Each folder lists the files nnexam wrote in `.nnexam-files` (`<command>\\t<path>`
per line), so a later run knows which files are its own. Nothing is ever written, renamed or
deleted through a symbolic link: the new folder is made from scratch, a link in the old one is
copied as a link, and a link where this run writes a file or folder is refused.

    output = Output(out, "grade", force=force, inputs=[submissions])  # checks; one line if unusable
    with output:                       # leaving the block normally swaps the new folder in
        output.write("grades.csv", data)
        path = output.folder("feedback")  # for processes that write files themselves ...
        output.record("feedback", names)  # ... and then say which
    for line in output.notes: ...      # e.g. stale staging removed, foreign files kept
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import time
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from .errors import NnexamError

LISTING = ".nnexam-files"
PREFIX = ".nnexam-staging-"
_STAGED = re.compile(re.escape(PREFIX) + r"(\d+)-([0-9a-f]{8})(\.owner|\.old)?")
_LEFTOVER = re.compile(r"\.nnexam-staging-\d+|\.feedback\.(?:tmp|old)-\d+")  # what nnexam < 0.2 left inside folders
_MAX_LISTING = 64 << 20


def _show(path: Path | str) -> str:
    """A path for a message, shortened if absurdly long."""
    text = str(path)
    return text if len(text) <= 160 else f"{text[:60]}…{text[-60:]}"


def pause(phase: str) -> None:
    """Test hook: with NNEXAM_TEST_PAUSE=<phase>, say so on stderr and wait there (a signal's moment)."""
    if os.environ.get("NNEXAM_TEST_PAUSE") == phase:
        os.write(2, f"nnexam: test pause at {phase}\n".encode())
        time.sleep(float(os.environ.get("NNEXAM_TEST_PAUSE_SECONDS", "30")))


# --- processes that own staging folders -----------------------------------------------------


def _proc_start(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a Linux process, None where /proc says nothing."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), fields[19].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    """Whether process `pid` (started at `start`, if known) still runs: a reused pid does not count."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    proc = _proc_start(pid)
    if proc is None:
        return not os.path.isdir("/proc/self")  # Linux: gone since; elsewhere: trust kill()
    state, started = proc
    return state != "Z" and (start is None or started == start)


def clean_stale(parent: Path) -> list[str]:
    """Remove the staging folders a dead run left in `parent` (undoing a half-done swap); notes for the user."""
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    runs: dict[str, set[str]] = {}
    for name in names:
        m = _STAGED.fullmatch(name)
        if m:
            runs.setdefault(name[:len(name) - len(m.group(3) or "")], set()).add(m.group(3) or "")
    notes = []
    for base, parts in sorted(runs.items()):
        owner = _read_owner(parent / f"{base}.owner") if ".owner" in parts else {}
        pid = owner.get("pid") if isinstance(owner.get("pid"), int) else int(_STAGED.fullmatch(base).group(1))
        start = owner.get("start") if isinstance(owner.get("start"), str) else None
        if _alive(pid, start):
            continue
        target = owner.get("target")
        what = f"{owner.get('command', 'nnexam')} (pid {pid})"
        old = parent / f"{base}.old"
        restored = False
        if (".old" in parts and isinstance(target, str) and "/" not in target and target not in ("", ".", "..")
                and not os.path.lexists(parent / target) and _is_real_dir(old)):
            try:
                os.rename(old, parent / target)
                notes.append(f"{_show(parent / target)}: put back as it was before an interrupted {what}")
                restored = True
            except OSError:
                pass
        for path in (parent / base, old):
            _remove(path)
        _remove(parent / f"{base}.owner")
        if not restored:
            notes.append(f"{_show(parent)}: removed what an interrupted {what} left ({base})")
    return notes


def recover(path: Path) -> list[str]:
    """Before reading a folder: undo what a dead run left beside it (clean_stale of its parent); notes."""
    try:
        return clean_stale(Path(os.path.realpath(path)).parent)
    except (OSError, ValueError):
        return []


def _read_owner(path: Path) -> dict:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            owner = json.loads(f.read(4096))
        return owner if isinstance(owner, dict) else {}
    except (OSError, ValueError):
        return {}


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove(path: Path) -> None:
    """Remove a file, link or folder tree; links are removed, never followed."""
    try:
        if _is_real_dir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


# --- the one-step swap ----------------------------------------------------------------------


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM, SIGHUP for a few statements: a swap and its bookkeeping happen together."""
    held = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --- what is in a folder --------------------------------------------------------------------


def _safe_rel(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "." not in rel.split("/") \
        and not re.search(r"[\\\t\n\r\x00]", rel) and "" not in rel.split("/")


def read_listing(target: Path) -> dict[str, str] | None:
    """{path: command} of the files nnexam wrote in `target`, from its `.nnexam-files`; None without one."""
    try:
        fd = os.open(target / LISTING, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(_MAX_LISTING)
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        tag, _, rel = line.partition("\t")
        if not line.startswith("#") and rel and _safe_rel(rel):
            out[rel] = tag
    return out


def legacy_exam_files(target: Path) -> dict[str, str]:
    """What generate wrote in a folder from before `.nnexam-files`: its fixed files and the manifest's `files`."""
    out = {n: "generate" for n in ("manifest.json", "submission_template.csv", "answer_key.csv", "sheets.pdf", "keys.pdf")}
    try:
        with open(target / "manifest.json", "rb") as f:
            doc = json.loads(f.read(_MAX_LISTING))
        for s in doc.get("students", []):
            for rel in (s.get("files") or {}).values():
                if isinstance(rel, str) and _safe_rel(rel) and rel.lower().endswith(".pdf"):
                    out[rel] = "generate"
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    return out


def legacy_grade_files(target: Path) -> dict[str, str]:
    """What grade wrote in a folder from before `.nnexam-files`: its fixed files and feedback/*.txt."""
    out = {n: "grade" for n in ("grades.csv", "canvas.csv", "moodle.csv", "report.pdf")}
    try:
        with os.scandir(target / "feedback") as it:
            out.update({f"feedback/{e.name}": "grade" for e in it if e.name.endswith(".txt") and e.is_file(follow_symlinks=False)})
    except OSError:
        pass
    return out


def _usable(out: Path) -> Path:
    """The real folder `out` names, refused with one line if nnexam cannot replace it there."""
    for part in out.parts:
        if len(os.fsencode(part)) > 255:
            raise NnexamError(f"{_show(out)}: a file or folder name longer than 255 bytes (the file system's limit)")
    prefix = Path(out.anchor) if out.is_absolute() else Path()
    for part in out.parts[1 if out.is_absolute() else 0:]:
        prefix = prefix / part
        if os.path.islink(prefix) and not os.path.exists(prefix):
            raise NnexamError(f"{_show(prefix)}: is a symbolic link to {_show(os.readlink(prefix))}, which does not exist")
    try:
        here = os.getcwd()
    except FileNotFoundError:
        raise NnexamError("the current folder no longer exists (replaced by an earlier run? `cd` into it again)") from None
    target = Path(os.path.realpath(out))
    if here == str(target) or here.startswith(str(target).rstrip(os.sep) + os.sep):
        raise NnexamError(f"{_show(out)}: is (or holds) the current folder; nnexam replaces an output folder as a whole, "
                          f"which would leave your shell in a deleted folder: run it from outside (cd .. first)")
    if target == target.parent:
        raise NnexamError(f"{_show(out)}: cannot be replaced as a whole (it is the root folder)")
    if os.path.lexists(target) and not target.is_dir():
        raise NnexamError(f"{_show(out)}: exists and is not a folder")
    ancestor = target.parent
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NnexamError(f"{_show(out)}: cannot be made: {_show(ancestor)} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise NnexamError(f"{_show(ancestor)}: cannot write there (read-only or no permission); nnexam builds "
                          f"{out.name or out}/ beside it and swaps it in", 1)
    if target.is_dir():
        if not os.access(target, os.W_OK | os.X_OK):
            raise NnexamError(f"{_show(out)}: folder is read-only (or not yours to change)", 1)
        if os.stat(target).st_dev != os.stat(target.parent).st_dev:
            raise NnexamError(f"{_show(out)}: is a mount point; nnexam replaces output folders whole from beside them: "
                              "use a folder inside it")
    return target


def _identity(path: Path) -> tuple[str, tuple[int, int] | None]:
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
        return real, (st.st_dev, st.st_ino)
    except OSError:
        return real, None


# --- the staging folder ---------------------------------------------------------------------


class Output:
    """One output folder, built beside the target and swapped in whole when the `with` block ends
    normally; discarded, the target untouched, when it ends by an exception or signal.

    `command` tags the files in `.nnexam-files`; `replaces(path, command)` says which files listed
    there this run replaces (default: those its own command wrote): they are left out of the new
    folder unless rewritten. Every other file is kept. Without `force`, a non-empty folder is refused.
    `inputs` are files this run reads: writing one of them is refused.
    """

    def __init__(self, out: Path, command: str, *, force: bool, inputs: Iterable[Path | None] = (),
                 replaces: Callable[[str, str], bool] | None = None,
                 legacy: Callable[[Path], dict[str, str]] | None = None, force_hint: str = "write into it",
                 announce_kept: bool = True):
        self.out = Path(out)
        self.command = command
        self.target = _usable(self.out)
        self.parent = self.target.parent
        self.notes: list[str] = clean_stale(self.parent)
        self.inputs = [(Path(p), *_identity(Path(p))) for p in inputs if p is not None]
        self.replaces = replaces or (lambda rel, tag: tag == command)
        self.announce_kept = announce_kept
        self.listing: dict[str, str] = {}
        if self.target.is_dir():
            found = read_listing(self.target)
            self.listing = found if found is not None else (legacy(self.target) if legacy else {})
            if not force:
                try:
                    entries = [n for n in os.listdir(self.target) if not _leftover(n) and n != LISTING]
                except OSError as e:
                    raise NnexamError(f"{_show(self.out)}: cannot read the folder ({e.strerror})", 1) from None
                if entries:
                    raise NnexamError(f"{_show(self.out)}: folder is not empty (use --force to {force_hint})")
        self.dir: Path | None = None
        self.base = ""
        self.files: dict[str, None] = {}  # relative paths written, in order
        self.recorded: dict[str, list[str]] = {}  # folder -> names written by other processes
        self.committed = False
        self._dirs: set[str] = set()

    # -- writing --

    def __enter__(self) -> "Output":
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise NnexamError(f"{_show(self.parent)}: cannot make the folder ({e.strerror})", 1) from None
        self.base = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        proc = _proc_start(os.getpid())
        owner = {"pid": os.getpid(), "start": proc[1] if proc else None, "command": self.command,
                 "target": self.target.name, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        marker = self.parent / f"{self.base}.owner"
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(owner, f)
            os.mkdir(self.parent / self.base)
        except OSError as e:
            _remove(marker)
            raise NnexamError(f"{_show(self.parent)}: cannot write there ({e.strerror}); nnexam builds "
                              f"{self.target.name}/ beside it and swaps it in", 1) from None
        self.dir = self.parent / self.base
        pause("staged")
        return self

    def claim(self, rels: Iterable[str]) -> None:
        """Refuse now, before the work, paths this run will write that are inputs or links (a
        trailing '/' names a folder)."""
        for rel in rels:
            self._check(rel.rstrip("/"))
            path = self.target / rel.rstrip("/")
            if rel.endswith("/") and os.path.lexists(path) and not path.is_dir():
                raise NnexamError(f"{_show(self.out / rel.rstrip('/'))}: cannot write (a file is in the way of the folder "
                                  f"{rel}; nnexam removes only files it wrote)", 1)

    def _check(self, rel: str) -> None:
        if not _safe_rel(rel):
            raise NnexamError(f"{_show(self.out)}: {rel!r} is not a safe relative path inside the output folder")
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            p = self.target.joinpath(*parts[:i])
            if os.path.islink(p):
                raise NnexamError(f"{_show(self.out / '/'.join(parts[:i]))}: is a symbolic link; nnexam writes only inside the "
                                  "output folder, never through a link (remove the link, or choose another folder)")
        real, ident = _identity(self.target / rel)
        for given, in_real, in_ident in self.inputs:
            if real == in_real or (ident is not None and ident == in_ident):
                raise NnexamError(f"{_show(given)}: is an input of this run and the output {_show(self.out / rel)}; "
                                  "give the output another name or folder")

    def write(self, rel: str, data: bytes | str) -> None:
        """Write the file `rel` of the new folder."""
        if rel not in self.files:
            self._check(rel)
        if isinstance(data, str):
            data = data.encode("utf-8")
        path = self.folder(rel.rpartition("/")[0]) + rel.rpartition("/")[2]
        try:
            if rel in self.files:
                os.unlink(path)
            write_new(path, data)
        except OSError as e:
            raise NnexamError(f"{_show(self.out / rel)}: cannot write ({e.strerror or e})", 1) from None
        self.files[rel] = None
        if len(self.files) == 2:
            pause("writing")

    def folder(self, rel: str) -> str:
        """The path (ending in a separator) of the new folder's subfolder `rel`, made if needed."""
        assert self.dir is not None, "use inside `with output:`"
        if not rel:
            return str(self.dir) + os.sep
        path = self.dir / rel
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise NnexamError(f"{_show(self.out / rel)}: cannot write ({e.strerror})", 1) from None
        return str(path) + os.sep

    def record(self, rel: str, names: Iterable[str]) -> None:
        """Say which files other processes wrote into folder(rel)."""
        self._check(rel)
        self.recorded.setdefault(rel, []).extend(names)

    # -- the end --

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            try:
                self.commit()
            except BaseException as e:
                self._discard(e)
                raise
        else:
            self._discard(error)

    def _discard(self, error: BaseException | None) -> None:
        outputs = getattr(error, "outputs", None)
        if isinstance(outputs, list):
            outputs.append((str(self.out), self.committed))  # for the line an interrupted run prints
        if self.dir is not None:
            _remove(self.dir)
            _remove(self.parent / f"{self.base}.old")
            _remove(self.parent / f"{self.base}.owner")

    def commit(self) -> None:
        """Check the new folder is complete, carry over the files kept, swap it in, remove the old."""
        assert self.dir is not None
        for rel in self.recorded:
            for name in self.recorded[rel]:
                self.files[f"{rel}/{name}"] = None
        self._verify()
        pause("written")
        kept: list[str] = []
        self._dirs = _folders(self.files)
        if self.target.is_dir():
            try:
                self._carry("", False, kept)
            except OSError as e:
                raise NnexamError(f"{_show(self.out)}: cannot read the earlier files ({e.strerror}); it was left as it was", 1) from None
        listing = ["# nnexam: files nnexam wrote in this folder (after the command that wrote each); --force replaces only these\n"]
        # Sorted: feedback workers record their files in the order they finish, and the same run
        # must give the same bytes.
        listing += sorted(f"{tag}\t{rel}\n" for rel, tag in self.listing.items() if rel not in self.files and self._kept(rel))
        listing += sorted(f"{self.command}\t{rel}\n" for rel in self.files)
        self.write(LISTING, "".join(listing))
        del self.files[LISTING]
        try:
            if self.target.is_dir():
                os.chmod(self.dir, stat.S_IMODE(os.stat(self.target).st_mode))
            with _signals_held():
                self._swap()
                self.committed = True
            pause("swapped")
        except OSError as e:
            raise NnexamError(f"{_show(self.out)}: cannot replace it ({e.strerror}); it was left as it was", 1) from None
        _remove(self.dir)  # now the old folder
        _remove(self.parent / f"{self.base}.old")
        _remove(self.parent / f"{self.base}.owner")
        if kept and self.announce_kept:
            shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
            self.notes.append(f"{_show(self.out)}: kept {len(kept)} file{'s' if len(kept) != 1 else ''} nnexam did not write: {shown}")

    def _kept(self, rel: str) -> bool:
        return os.path.lexists(self.dir / rel)

    def _verify(self) -> None:
        by_folder: dict[str, set[str]] = {}
        for rel in self.files:
            folder, _, name = rel.rpartition("/")
            by_folder.setdefault(folder, set()).add(name)
        missing = 0
        for folder, names in by_folder.items():
            try:
                present = set(os.listdir(self.dir / folder))
            except OSError:
                present = set()
            missing += len(names - present)
        if missing:
            raise NnexamError(f"{_show(self.out)}: {missing} of the {len(self.files)} files written vanished before the "
                              "folder was complete (was it removed or cleaned meanwhile?); it was left as it was", 1)

    def _carry(self, rel_dir: str, nested: bool, kept: list[str]) -> tuple[int, int]:
        """Put the old folder's files this run keeps into the new one (hard links); (kept, seen)."""
        src = self.target / rel_dir if rel_dir else self.target
        with os.scandir(src) as it:
            entries = sorted(it, key=lambda e: e.name)
        nested = nested or any(e.name == LISTING for e in entries) and rel_dir != ""
        written = self.files
        n_kept = 0
        for e in entries:
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            if not rel_dir and (e.name == LISTING or _leftover(e.name) or _STAGED.fullmatch(e.name)):
                if e.name != LISTING:
                    self.notes.append(f"{_show(self.out)}: removed what an interrupted earlier run left ({e.name})")
                continue
            dst = self.dir / rel
            ours_dir = rel in self._dirs
            if e.is_symlink():
                if rel in written or ours_dir:
                    self._check(rel)  # raises: a link where this run writes
                os.symlink(os.readlink(e.path), dst)
                n_kept += 1
                if not nested and rel not in self.listing:
                    kept.append(rel)
            elif e.is_dir(follow_symlinks=False):
                if rel in written:
                    raise NnexamError(f"{_show(self.out / rel)}: cannot write (a folder is in the way of the file; "
                                      "nnexam removes only files it wrote)", 1)
                made = not os.path.lexists(dst)
                if made:
                    os.mkdir(dst)
                sub_kept, sub_seen = self._carry(rel, nested, kept)
                if made and sub_kept == 0 and sub_seen > 0:
                    os.rmdir(dst)  # held only files this run replaces
                else:
                    if made:
                        os.chmod(dst, stat.S_IMODE(e.stat(follow_symlinks=False).st_mode))
                    n_kept += 1
            elif e.is_file(follow_symlinks=False):
                if ours_dir:
                    raise NnexamError(f"{_show(self.out / rel)}: cannot write (a file is in the way of the folder {rel}/; "
                                      "nnexam removes only files it wrote)", 1)
                if rel in written:
                    continue  # replaced by this run's file
                tag = self.listing.get(rel)
                if tag is not None and self.replaces(rel, tag) and not self._is_input(e.path):
                    continue  # an earlier run's file this run does not make again
                _link_or_copy(e.path, dst)
                n_kept += 1
                if tag is None and not nested:
                    kept.append(rel)
            else:
                self.notes.append(f"{_show(self.out / rel)}: not a file or folder, left out of the new folder")
        return n_kept, len(entries)

    def _is_input(self, path: str) -> bool:
        real, ident = _identity(Path(path))
        return any(real == r or (ident is not None and ident == i) for _, r, i in self.inputs)

    def _swap(self) -> None:
        if os.path.lexists(self.target):
            if _exchange(self.dir, self.target):
                return
            old = self.parent / f"{self.base}.old"
            os.rename(self.target, old)  # a run killed here is undone by the next (clean_stale)
            os.rename(self.dir, self.target)
            os.rename(old, self.dir)
        else:
            os.rename(self.dir, self.target)


def _folders(rels: Iterable[str]) -> set[str]:
    """Every folder the relative paths lie in, parents included ("a/b/c.txt": "a", "a/b")."""
    folders: set[str] = set()
    for rel in rels:
        folder, slash, _ = rel.rpartition("/")
        while slash and folder not in folders:  # a folder already there came with its parents
            folders.add(folder)
            folder, slash, _ = folder.rpartition("/")
    return folders


def _leftover(name: str) -> bool:
    return bool(_LEFTOVER.fullmatch(name) or _STAGED.fullmatch(name))


def _link_or_copy(src: str, dst: Path) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except (OSError, NotImplementedError):  # no hard links here (FAT, some network shares): copy
        shutil.copy2(src, dst, follow_symlinks=False)


_NEW_FILE = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def write_new(path: str, data: bytes) -> None:
    """Create the file `path` (never through a link, never over an existing file) holding `data`."""
    fd = os.open(path, _NEW_FILE, 0o666)
    try:
        done = os.write(fd, data) if data else 0  # a small file goes in one write
        if done < len(data):
            view = memoryview(data)[done:]
            while view:
                view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    os.close(fd)
