"""Student ids: the one rule for when two ids are the same student, and the limits on ids and names.

Grading, every LMS file and the feedback file names compare ids by `id_key`; generate (the roster)
and manifest loading refuse a class holding two ids of one key, so no two places can disagree.
"""

from __future__ import annotations

import unicodedata
from typing import Callable, Sequence

from .errors import NnexamError

ID_MAX = 200  # characters in a student id (LMS ids are under 100)
NAME_MAX = 200  # characters in a student's name


def id_key(student_id: str) -> str:
    """The form two ids are compared in everywhere (grading, LMS files, feedback names): Unicode
    NFKC with case folded (NFKC_Casefold), spaces at the ends dropped. ABC, abc, the full-width
    ＡＢＣ and an NFD-written accent are one id; a class may not hold two ids of one key."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", student_id).casefold()).strip()


def check_ids(ids: Sequence[str], names: Sequence[str], where: Callable[[int], str]) -> None:
    """Refuse (one NnexamError line) blank or over-long ids, over-long names, and ids that differ only in
    case or Unicode form; `where(i)` names student i (its roster row or manifest entry)."""
    if ids and max(map(len, ids)) <= ID_MAX and max(map(len, names), default=0) <= NAME_MAX and all(map(str.strip, ids)):
        joined = "\n".join(ids)  # the usual class: ASCII ids, distinct when lowered (checked at C speed)
        if (joined.isascii() and joined.count("\n") == len(ids) - 1 and " " not in joined
                and len(set(joined.lower().split("\n"))) == len(ids)):
            return
    seen: dict[str, int] = {}
    for i, (sid, name) in enumerate(zip(ids, names)):
        if not sid.strip():
            raise NnexamError(f"{where(i)}: blank student id")
        if len(sid) > ID_MAX:
            raise NnexamError(f"{where(i)}: student id of {len(sid):,} characters (at most {ID_MAX}): {sid[:40]!r}...")
        if len(name) > NAME_MAX:
            raise NnexamError(f"{where(i)}: name of {len(name):,} characters (at most {NAME_MAX}): {name[:40]!r}...")
        key = sid.strip().lower() if sid.isascii() else id_key(sid)  # the same for ASCII, 10 times faster
        if key in seen:
            j = seen[key]
            if ids[j] == sid:
                raise NnexamError(f"{where(i)}: student id {sid!r} appears twice (also {where(j)})")
            raise NnexamError(f"{where(i)}: student ids {ids[j]!r} ({where(j)}) and {sid!r} differ only in case or Unicode "
                              "form; ids must differ in more than that (LMSs and file systems would mix them up)")
        seen[key] = i
