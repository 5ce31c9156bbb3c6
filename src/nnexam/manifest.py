"""The exam manifest (DIR/manifest.json): what was generated, enough to render and grade without the bank.

Shared by the generator (writes it), the PDF builder and the grader (read it). The JSON layout
(format_version 2):

    {"format": "nnexam-manifest", "format_version": 2, "nnexam_version": "...",
     "seed": "...", "bank_name": "classic", "bank_hash": "sha256:...", "bank": {...},
     "title": "...", "course": "...", "date": "...", "notation": "mazur",
     "kind": "pool" (only for a pool exam: variants v001... bound to no student),
     "render": {"paper": "a4"|"letter", "sides": "duplex"|"simplex"},
     "draw_rules": 2 (the fairness rules the variants were drawn by; absent: 1, nnexam 0.1),
     "questions": [{"name", "label", "task", "points", "decimals",
                    "tolerance": {"kind": "abs"|"rel"|"decimals", "value": x}}, ...],
     "network": {the spec keys every student shares: layers, activations, loss, bias, ...},
     "given_names": ["x_1", "x_2", "t_1", "t_2", "eta", "w1_1_1", ...],
     "students": [{"id", "name", "variant", "files": {"sheet": "sheets/x.pdf", "key": "keys/x.pdf"},
                   "givens": [one number per name of given_names],
                   "identity": {"SIS Login ID": "alee", ...}}, ...]}

`identity` (only when the roster had such columns) keeps every identity column of the student's
roster row as the LMS wrote it, so LMS grade files can carry them; manifests without it still load.

A student's spec, as `nnexam solve` reads it, is `network` with that student's givens put in.
The exact answers are not stored: they follow from the givens (and `answer_key.csv`, written
beside the manifest, lists them). `render` holds the PDF options generate was given (the title is
the header's `title`), so that `nnexam render` makes the same PDFs; a manifest without it (older
nnexam, or made through the Python API) renders on A4. Format version 1 (a whole spec and the
answers per student) is still read.
"""

from __future__ import annotations

import json
import math
from functools import cached_property
from itertools import chain
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import NnexamError
from .files import read_input
from .ids import check_ids
from .graph import StepGraph, build_graph
from .notation import STYLES, Label, check_unique_labels, labels
from .solve import evaluate, finite_variants
from .spec import (NOTATIONS, Architecture, Network, check_outputs, network_from_values, parse_architecture, parse_names,
                   parse_spec)

FORMAT = "nnexam-manifest"
FORMAT_VERSION = 2
TOLERANCE_KINDS = ("abs", "rel", "decimals")
KINDS = ("class", "pool")
# The PDF options a manifest may record (`Manifest.render`) and the values each may take.
RENDER_OPTIONS: dict[str, tuple[str, ...]] = {"paper": ("a4", "letter"), "sides": ("duplex", "simplex")}


@dataclass(frozen=True)
class Question:
    """One asked answer: canonical step name, its column label, task, points, decimals, tolerance."""

    name: str
    label: str
    task: str
    points: float
    decimals: int
    tolerance_kind: str = "decimals"
    tolerance_value: float = 0.0  # abs: atol; rel: rtol (atol = 10^-decimals / 2); decimals: unused

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "task": self.task,
            "points": self.points,
            "decimals": self.decimals,
            "tolerance": {"kind": self.tolerance_kind, "value": self.tolerance_value},
        }


@dataclass(frozen=True)
class Shared:
    """What every student's network in one exam shares: the architecture, notation and names table."""

    arch: Architecture
    notation: str = "mazur"
    names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StudentVariant:
    """One student's exercise: who, the printable variant code, and the given values of the network.

    The Network itself is made when first asked for: grading a class of 100,000 needs only the
    numbers (Manifest.table), and making 100,000 Networks would cost a second.
    """

    id: str
    name: str
    variant: str
    givens: tuple[float, ...]  # in shared.arch.given_names() order
    shared: Shared = field(compare=False, repr=False)
    files: Mapping[str, str] = field(default_factory=dict)
    identity: Mapping[str, str] = field(default_factory=dict)  # the roster's identity columns (lms.Roster)

    @classmethod
    def of(cls, id: str, name: str, variant: str, network: Network, files: Mapping[str, str] | None = None) -> StudentVariant:
        """A student with this network."""
        return cls(id, name, variant, network.values(), Shared(network.arch, network.notation, network.names), files or {})

    @cached_property
    def network(self) -> Network:
        return network_from_values(self.shared.arch, self.givens, self.shared.notation, self.shared.names)

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "name": self.name, "variant": self.variant, "files": dict(self.files),
             "givens": list(self.givens)}
        if self.identity:
            d["identity"] = dict(self.identity)
        return d


@dataclass(frozen=True)
class Manifest:
    """A generated exam: header, questions in sheet order, and one variant per student."""

    seed: str
    bank_name: str
    bank_hash: str
    bank: Mapping[str, Any]
    title: str
    course: str
    date: str
    notation: str
    questions: tuple[Question, ...]
    students: tuple[StudentVariant, ...]
    nnexam_version: str = ""
    # Every student's given values, one row each in `arch.given_names()` order: made from the
    # students when not given (loading and generating pass the array they already have).
    table: np.ndarray | None = field(default=None, compare=False, repr=False)
    # "class": one variant per named student; "pool": variants v001... bound to no student, handed
    # out at random by an LMS quiz and found again by their variant code when grading.
    kind: str = "class"
    # The PDF options generate was given (RENDER_OPTIONS), which `nnexam render` uses unless told otherwise.
    render: Mapping[str, str] = field(default_factory=dict)
    # The fairness rules the variants were drawn by (generate.DRAW_RULES): generating again with the
    # same seed, bank and ids and these rules gives the same numbers. Absent (nnexam 0.1): 1.
    draw_rules: int = 1

    def __post_init__(self) -> None:
        if self.table is None:
            values = [s.givens for s in self.students]
            object.__setattr__(self, "table", np.array(values, dtype=float).reshape(len(values), -1))

    @property
    def arch(self) -> Architecture:
        return self.students[0].shared.arch

    @property
    def graph(self) -> StepGraph:
        return build_graph(self.arch)

    def labels(self) -> dict[str, Label]:
        """Printed names in the exam's notation (names tables included)."""
        return labels(self.graph, self.notation, dict(self.students[0].shared.names))

    def givens(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every given value of every student (or of the students at `rows`), as arrays with a leading student axis."""
        table = self.table if rows is None else self.table[rows]
        return {name: table[:, i].copy() for i, name in enumerate(self.arch.given_names())}

    def to_dict(self) -> dict[str, Any]:
        return {**self._header(), "students": [s.to_dict() for s in self.students]}

    def shared_spec(self) -> dict[str, Any]:
        """The spec keys every student shares (a student's spec is these plus its givens)."""
        spec = self.students[0].network.to_dict()
        return {k: v for k, v in spec.items() if k not in _NUMBER_KEYS}

    def _header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **({"kind": self.kind} if self.kind != "class" else {}),
            "nnexam_version": self.nnexam_version,
            "seed": self.seed,
            "bank_name": self.bank_name,
            "bank_hash": self.bank_hash,
            "bank": self.bank,
            "title": self.title,
            "course": self.course,
            "date": self.date,
            "notation": self.notation,
            "render": dict(self.render),
            "draw_rules": self.draw_rules,
            "questions": [q.to_dict() for q in self.questions],
            "network": self.shared_spec(),
            "given_names": list(self.arch.given_names()),
        }

    def to_json(self) -> bytes:
        """Deterministic bytes: same manifest, same file. One line per student keeps 100,000 fast to write."""
        text = json.dumps(self._header(), indent=1, ensure_ascii=False)
        rows = ",\n  ".join(json.dumps(s.to_dict(), ensure_ascii=False) for s in self.students)
        return (text[:-2] + ',\n "students": [\n  ' + rows + "\n ]\n}\n").encode("utf-8")


def _need(d: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in d:
        raise NnexamError(f"{where}: missing key '{key}'")
    v = d[key]
    if not isinstance(v, kind) or (kind in (int, float, (int, float)) and isinstance(v, bool)):
        raise NnexamError(f"{where}: key '{key}' has the wrong type")
    return v


_NUMBER_KEYS = ("learning_rate", "weights", "biases", "inputs", "targets")
_SHARED_KEYS = ("layers", "activations", "loss", "bias", "update_biases", "leaky_slope", "notation", "names")
_TEXT = {str}
_NUMBERS = ({float}, {int}, {float, int})  # the types a list of givens may hold (json gives no others but bool and str)


def _questions(d: Mapping[str, Any], source: str) -> tuple[Question, ...]:
    questions: list[Question] = []
    for i, q in enumerate(_need(d, "questions", source, list)):
        where = f"{source}: questions[{i}]"
        if not isinstance(q, dict):
            raise NnexamError(f"{where}: expected an object")
        tol = _need(q, "tolerance", where, dict)
        kind = tol.get("kind")
        if kind not in TOLERANCE_KINDS:
            raise NnexamError(f"{where}: tolerance kind must be one of {', '.join(TOLERANCE_KINDS)}")
        value = tol.get("value", 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise NnexamError(f"{where}: tolerance value must be a number >= 0")
        points = _need(q, "points", where, (int, float))
        if not 0 <= points < math.inf:
            raise NnexamError(f"{where}: key 'points' must be a number >= 0")
        decimals = _need(q, "decimals", where, int)
        if not 0 <= decimals <= 12:
            raise NnexamError(f"{where}: key 'decimals' must be a whole number from 0 to 12")
        label = _need(q, "label", where, str)
        if not label.strip() or any(label == other.label for other in questions):
            raise NnexamError(f"{where}: label {label!r} is blank or not unique")
        questions.append(Question(
            _need(q, "name", where, str), label, _need(q, "task", where, str), float(points), decimals,
            kind, float(value),
        ))
    return tuple(questions)


def _draw_rules(d: Mapping[str, Any], source: str) -> int:
    """The recorded draw rules: 1 when absent (nnexam 0.1 wrote none)."""
    rules = d.get("draw_rules", 1)
    if type(rules) is not int or rules < 1:
        raise NnexamError(f"{source}: key 'draw_rules' must be a whole number from 1, got {json.dumps(rules)}")
    return rules


def _render(d: Mapping[str, Any], source: str) -> dict[str, str]:
    """The recorded PDF options, checked; keys this nnexam does not know (a newer one's) are left out."""
    render = d.get("render", {})
    if not isinstance(render, dict):
        raise NnexamError(f"{source}: key 'render' must be an object such as {{\"paper\": \"a4\"}}")
    out = {}
    for key, allowed in RENDER_OPTIONS.items():
        if key in render:
            if render[key] not in allowed:
                raise NnexamError(f"{source}: render.{key} must be one of {', '.join(allowed)}, got {json.dumps(render[key])}")
            out[key] = render[key]
    return out


def _student(s: Any, where: str) -> tuple[str, str, str, Mapping[str, str], Mapping[str, str]]:
    """A student's id, name, variant, files and identity columns, checked."""
    if type(s) is dict:  # as nnexam writes them: checked with as few calls as can be (100,000 students)
        sid, name, variant, files = s.get("id"), s.get("name", ""), s.get("variant"), s.get("files", {})
        identity = s.get("identity", _NO_IDENTITY)
        if (type(sid) is str and type(name) is str and type(variant) is str and type(files) is dict
                and set(map(type, files.values())) <= _TEXT
                and (identity is _NO_IDENTITY or type(identity) is dict and set(map(type, identity.values())) <= _TEXT)):
            return sid, name, variant, files, identity
    if not isinstance(s, dict):
        raise NnexamError(f"{where}: expected an object")
    files = s.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise NnexamError(f"{where}.files: expected an object of file paths")
    identity = s.get("identity", {})
    if not isinstance(identity, dict) or not all(isinstance(v, str) for v in identity.values()):
        raise NnexamError(f"{where}.identity: expected an object of texts (the roster's identity columns)")
    name = s.get("name", "")
    return (_need(s, "id", where, str), name if isinstance(name, str) else str(name), _need(s, "variant", where, str),
            files, identity)


_NO_IDENTITY: Mapping[str, str] = {}  # shared by every student loaded without identity columns (never mutated)


def _students_v2(d: Mapping[str, Any], source: str, raw: list) -> tuple[tuple[StudentVariant, ...], np.ndarray]:
    """Students of a format 2 manifest: the shared network spec with each student's list of givens.

    A class of 100,000 is checked column by column with numpy; only a manifest that fails a check
    is searched student by student, to name the first bad value.
    """
    shared = _shared_network(d, source)
    arch = shared.arch
    given = arch.given_names()
    people, rows = [], []
    for i, s in enumerate(raw):
        people.append(_student(s, f"{source}: students[{i}]"))
        rows.append(s.get("givens"))
    table = _table(rows, len(given))
    if table is not None:
        targets = table[:, [given.index(f"t_{j}") for j in range(1, arch.layers[-1] + 1)]]
        if not (np.isfinite(table).all() and (table[:, given.index("eta")] > 0).all() and _targets_ok(arch, targets)):
            table = None
    if table is None:
        for i, r in enumerate(rows):
            _check_row(arch, r, f"{source}: students[{i}].givens")
        raise AssertionError("a check failed that no student fails")  # pragma: no cover
    # The givens as read when all are floats already (table.tolist() would make them again), else as floats.
    givens = rows if set(map(type, chain.from_iterable(rows))) == {float} else table.tolist()
    students = tuple(StudentVariant(sid, name, variant, tuple(v), shared, files, identity)
                     for (sid, name, variant, files, identity), v in zip(people, givens))
    return students, table


def _table(rows: list, width: int) -> np.ndarray | None:
    """The rows as one float array when each is a list of `width` numbers; None otherwise."""
    if set(map(type, rows)) != {list} or set(map(len, rows)) != {width} or set(map(type, chain.from_iterable(rows))) not in _NUMBERS:
        return None
    try:
        return np.array(rows, dtype=float)
    except OverflowError:  # an integer beyond float64
        return None


def _finite(v: Any) -> bool:
    """A JSON number that is a finite float64 (not a bool, a string, null or a 400-digit integer)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _shared_network(d: Mapping[str, Any], source: str) -> Shared:
    """The architecture, notation and names table of the manifest's `network`, checked as a spec's."""
    where = f"{source}: network"
    shared = _need(d, "network", source, dict)
    unknown = sorted(set(shared) - set(_SHARED_KEYS))
    if unknown:
        raise NnexamError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(_SHARED_KEYS)}; numbers are each student's givens)")
    arch = parse_architecture(shared, where)
    notation = shared.get("notation", "mazur")
    if notation not in NOTATIONS:
        raise NnexamError(f"{where}: key 'notation' must be one of {', '.join(NOTATIONS)}")
    names = parse_names(shared, where, arch)
    check_unique_labels(arch, notation, dict(names), where)
    if _need(d, "given_names", source, list) != list(arch.given_names()):
        raise NnexamError(f"{source}: key 'given_names' should be {', '.join(arch.given_names())} for this network")
    return Shared(arch, notation, names)


def _check_row(arch: Architecture, r: Any, where: str) -> None:
    """One student's givens, checked one by one: raises one line naming the first bad value."""
    given = arch.given_names()
    if not isinstance(r, list) or len(r) != len(given):
        raise NnexamError(f"{where}: expected a list of {len(given)} numbers ({', '.join(given[:3])}, ...)")
    for j, v in enumerate(r):
        if not _finite(v):
            raise NnexamError(f"{where}[{j}] ({given[j]}): expected a finite number, got {json.dumps(v)}")
    eta = r[given.index("eta")]
    if eta <= 0:
        raise NnexamError(f"{where}[{given.index('eta')}] (eta): expected a positive learning rate, got {eta}")
    check_outputs(arch, tuple(float(r[given.index(f"t_{j}")]) for j in range(1, arch.layers[-1] + 1)), where)


def _targets_ok(arch: Architecture, targets: np.ndarray) -> bool:
    """Every student's targets are ones the loss can take (as spec.check_outputs requires)."""
    if arch.loss not in ("bce", "cross_entropy"):
        return True
    ok = bool(((targets >= 0.0) & (targets <= 1.0)).all())
    if ok and arch.loss == "cross_entropy" and arch.activations[-1] == "softmax":
        ok = all(abs(sum(row) - 1.0) <= 1e-9 for row in targets.tolist())  # summed as check_outputs sums
    return ok


def _check_finite(graph: StepGraph, students: tuple[StudentVariant, ...], table: np.ndarray | None, source: str) -> None:
    """Every step of every student's network a finite number (an edited 1e308 overflows: inf would
    then grade as correct); one line naming the first such student and its largest given."""
    if table is None:
        table = np.array([s.givens for s in students], dtype=float).reshape(len(students), -1)
    names = graph.arch.given_names()
    with np.errstate(all="ignore"):
        ok = finite_variants(graph, evaluate(graph, {name: table[:, i] for i, name in enumerate(names)}))
    if ok.all():
        return
    i = int(np.flatnonzero(~ok)[0])
    j = int(np.argmax(np.abs(table[i])))
    raise NnexamError(f"{source}: students[{i}].givens[{j}] ({names[j]}): {table[i, j]:g} makes the network's values overflow "
                      "float64 (expected givens a sheet can print, small enough that every step stays finite)")


def _students_v1(source: str, raw: list) -> tuple[tuple[StudentVariant, ...], None]:
    """Students of a format 1 manifest (a whole spec and the answers per student): each spec checked in full."""
    students = []
    labelled: set = set()
    for i, s in enumerate(raw):
        where = f"{source}: students[{i}]"
        sid, name, variant, files, identity = _student(s, where)
        net = parse_spec(_need(s, "network", where, dict), f"{where}.network")
        if (net.notation, net.names) not in labelled:  # students share their names tables: each checked once
            check_unique_labels(net.arch, net.notation, dict(net.names), f"{where}.network")
            labelled.add((net.notation, net.names))
        if students and net.arch != students[0].network.arch:
            raise NnexamError(f"{where}: network architecture differs from the first student's")
        students.append(replace(StudentVariant.of(sid, name, variant, net, files), identity=identity))
    return tuple(students), None


def manifest_from_dict(d: Mapping[str, Any], source: str) -> Manifest:
    """Check and build a Manifest from its JSON mapping."""
    if d.get("format") != FORMAT:
        raise NnexamError(f"{source}: not an nnexam manifest (key 'format' should be \"{FORMAT}\")")
    version = d.get("format_version")
    if version not in (1, FORMAT_VERSION) or isinstance(version, bool):
        raise NnexamError(f"{source}: manifest format_version {version!r}; this nnexam reads 1 and {FORMAT_VERSION}")
    questions = _questions(d, source)
    notation = d.get("notation", "mazur")
    if notation not in STYLES:
        raise NnexamError(f"{source}: key 'notation' must be one of {', '.join(STYLES)}")
    raw = _need(d, "students", source, list)
    if not raw:
        raise NnexamError(f"{source}: the manifest lists no students")
    students, table = _students_v2(d, source, raw) if version == FORMAT_VERSION else _students_v1(source, raw)
    check_ids([st.id for st in students], [st.name for st in students], lambda i: f"{source}: students[{i}]")
    kind = d.get("kind", "class")
    if kind not in KINDS:
        raise NnexamError(f"{source}: key 'kind' must be one of {', '.join(KINDS)}")
    graph = build_graph(students[0].network.arch)
    for q in questions:
        if q.name not in graph:
            raise NnexamError(f"{source}: question '{q.name}' is not a step of this network")
    _check_finite(graph, students, table, source)
    return Manifest(
        str(_need(d, "seed", source, (str, int))), str(d.get("bank_name", "")), str(d.get("bank_hash", "")),
        d.get("bank", {}), str(d.get("title", "")), str(d.get("course", "")), str(d.get("date", "")),
        notation, questions, students, str(d.get("nnexam_version", "")), table, kind, _render(d, source),
        _draw_rules(d, source),
    )


def load_manifest(path: str | Path) -> Manifest:
    """Read DIR/manifest.json (or a manifest file path)."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    if not path.exists() and not path.is_symlink():
        raise NnexamError(f"{path}: no manifest here (run `nnexam generate` first)")
    try:
        raw = read_input(path, "manifest").decode("utf-8")
    except UnicodeDecodeError as e:
        raise NnexamError(f"{path}: cannot read manifest (not UTF-8 text: byte {e.start})") from None
    try:
        d = json.loads(raw)
    except json.JSONDecodeError as e:
        raise NnexamError(f"{path}: manifest is not valid JSON (line {e.lineno}: {e.msg})") from None
    except RecursionError:
        raise NnexamError(f"{path}: manifest is not valid JSON (arrays or objects nested too deeply)") from None
    except ValueError:  # the one other error json raises: an integer Python will not read (over 4300 digits)
        raise NnexamError(f"{path}: manifest is not valid JSON (a number of more than 4300 digits)") from None
    if not isinstance(d, dict):
        raise NnexamError(f"{path}: manifest is not a JSON object")
    return manifest_from_dict(d, str(path))


__all__ = ["Manifest", "Question", "Shared", "StudentVariant", "load_manifest", "manifest_from_dict", "parse_architecture"]
