"""Files in and out: inputs read with one clear error, single files written atomically (a temporary
file in the same folder, then renamed over the target), and safe file names from student ids.

Output folders (generate, render, grade, export) are written with staging.Output, which replaces
the whole folder at once and never writes through a link; write_atomic is for a lone file.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import unicodedata
from pathlib import Path

from .errors import NnexamError


_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: the process umask, restored at once


# The most nnexam reads of each kind of input: generous for real courses (a manifest of 1,000,000
# students of the classic bank is 220 MB; submissions of 100,000 students about 50 MB; a bank a
# few KB), and a clear line, not a MemoryError, for /dev/zero or an endless pipe.
MiB = 1 << 20
INPUT_LIMITS = {"manifest": 1024 * MiB, "spec": 16 * MiB, "bank": 16 * MiB}
INPUT_LIMIT = 256 * MiB  # every other input: submissions, rosters, LMS exports, answers


def _size(n: int) -> str:
    return f"{n // MiB:,} MiB" if n >= MiB else f"{n:,} bytes"


def read_input(path: str | Path, what: str, limit: int | None = None) -> bytes:
    """A file's bytes, or one clear NnexamError naming the file and what it should have been.

    At most `limit` bytes (INPUT_LIMITS by `what`, else INPUT_LIMIT) are read; a pipe is read up
    to that, a device (such as /dev/zero) is refused at once.
    """
    path = Path(path)
    limit = limit if limit is not None else INPUT_LIMITS.get(what, INPUT_LIMIT)
    too_big = NnexamError(f"{path}: the {what} file is larger than {_size(limit)}, the most nnexam reads as a {what} file")
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                raise NnexamError(f"{path}: a device, not a file (expected the {what} file)")
            if stat.S_ISREG(st.st_mode) and st.st_size > limit:
                raise too_big
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise NnexamError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise NnexamError(f"{path}: is a folder, expected the {what} file") from None
    except MemoryError:
        raise too_big from None
    except OSError as e:
        raise NnexamError(f"{path}: cannot read the {what} file ({e.strerror or e})") from None
    if len(data) > limit:
        raise too_big
    return data


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:  # the folder cannot be made (a file in the way, read-only, full) or written
        raise NnexamError(f"{path}: cannot write ({e.strerror or e})", 1) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the user's usual permissions
        os.replace(tmp, path)
    except BaseException as e:  # a full disk, or a signal (Ctrl-C): no temporary file left behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise NnexamError(f"{path}: cannot write ({e.strerror or e})", 1) from None
        raise


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


_ALREADY_SAFE = re.compile(r"[A-Za-z0-9@-](?:[A-Za-z0-9._@-]{0,78}[A-Za-z0-9@-])?")


def safe_stem(student_id: str) -> str:
    """A file-name stem from a student id: ASCII letters, digits, '-', '_', '.', '@'; no path escapes."""
    if _ALREADY_SAFE.fullmatch(student_id) and student_id.upper().split(".")[0] not in _WINDOWS_RESERVED:
        return student_id  # the usual id (s001, 20261234, jdoe@uni.edu) is its own stem
    s = unicodedata.normalize("NFKD", student_id).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^A-Za-z0-9._@-]+", "_", s).strip("._ ")
    if not s or s.upper().split(".")[0] in _WINDOWS_RESERVED:
        s = "student_" + s
    return s[:80]


def unique_stems(ids: list[str]) -> list[str]:
    """safe_stem for every id, made unique case-insensitively (macOS and Windows) with a numeric suffix."""
    out, seen = [], set()
    for sid in ids:
        stem = safe_stem(sid)
        candidate, n = stem, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{stem}-{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out
