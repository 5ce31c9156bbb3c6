"""The exam manifest (DIR/manifest.json): what was generated, enough to render and grade without the bank.

Shared by the generator (writes it), the PDF builder and the grader (read it). The JSON layout:

    {"format": "nnexam-manifest", "format_version": 1, "nnexam_version": "...",
     "seed": "...", "bank_name": "classic", "bank_hash": "sha256:...", "bank": {...},
     "title": "...", "course": "...", "date": "...", "notation": "mazur",
     "questions": [{"name", "label", "task", "points", "decimals",
                    "tolerance": {"kind": "abs"|"rel"|"decimals", "value": x}}, ...],
     "students": [{"id", "name", "variant", "files": {"sheet": "sheets/x.pdf", "key": "keys/x.pdf"},
                   "network": {spec mapping, as `nnexam solve` reads},
                   "answers": {canonical: value}}, ...]}
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import NnexamError
from .graph import StepGraph, build_graph
from .notation import STYLES, Label, labels
from .spec import Architecture, Network, check_outputs, parse_architecture, parse_spec

FORMAT = "nnexam-manifest"
FORMAT_VERSION = 1
TOLERANCE_KINDS = ("abs", "rel", "decimals")


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
class StudentVariant:
    """One student's exercise: who, the printable variant code, the network and the asked answers."""

    id: str
    name: str
    variant: str
    network: Network
    answers: Mapping[str, float]
    files: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "variant": self.variant,
            "files": dict(self.files),
            "network": self.network.to_dict(),
            "answers": dict(self.answers),
        }


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

    @property
    def arch(self) -> Architecture:
        return self.students[0].network.arch

    @property
    def graph(self) -> StepGraph:
        return build_graph(self.arch)

    def labels(self) -> dict[str, Label]:
        """Printed names in the exam's notation (names tables included)."""
        net = self.students[0].network
        return labels(self.graph, self.notation, dict(net.names))

    def givens(self) -> dict[str, np.ndarray]:
        """Every given value of every student, as arrays with a leading student axis."""
        per = [s.network.givens() for s in self.students]
        return {name: np.concatenate([p[name] for p in per]) for name in per[0]}

    def to_dict(self) -> dict[str, Any]:
        return {**self._header(), "students": [s.to_dict() for s in self.students]}

    def _header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "nnexam_version": self.nnexam_version,
            "seed": self.seed,
            "bank_name": self.bank_name,
            "bank_hash": self.bank_hash,
            "bank": self.bank,
            "title": self.title,
            "course": self.course,
            "date": self.date,
            "notation": self.notation,
            "questions": [q.to_dict() for q in self.questions],
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


# Spec keys every student of a manifest shares; numbers are the rest.
_META_KEYS = ("layers", "activations", "loss", "bias", "update_biases", "leaky_slope", "notation", "names")
_SPEC_KEYS = {"learning_rate", "weights", "biases", "inputs", "targets", "title", *_META_KEYS}


@lru_cache(maxsize=8)
def _shapes(arch: Architecture) -> tuple[list[int], list[int], list[int]]:
    """Rows per weight matrix, columns per weight row, biases per layer."""
    L = arch.layers
    return ([L[l + 1] for l in range(arch.depth)], [L[l] for l in range(arch.depth) for _ in range(L[l + 1])],
            [L[l + 1] for l in range(arch.depth)])


_FLOAT = {float}


def _fast_network(spec: Mapping[str, Any], first: Network, first_meta: Mapping[str, Any]) -> Network | None:
    """A student's Network when it shares the first student's architecture and holds finite
    floats (as nnexam writes them) of the right shapes; None otherwise, so that parse_spec checks
    it and reports any problem.

    parse_spec on every student dominates loading a class of 100,000; this path accepts only
    what parse_spec accepts, and builds the same Network.
    """
    try:
        if spec.keys() - _SPEC_KEYS:
            return None
        for k, v in first_meta.items():
            if spec.get(k) != v:
                return None
        arch = first.arch
        L = arch.layers
        rows, cols, per_layer = _shapes(arch)
        weights = tuple(tuple(map(tuple, m)) for m in spec["weights"])
        if list(map(len, weights)) != rows or [len(r) for m in weights for r in m] != cols:
            return None
        inputs, targets, lr = tuple(spec["inputs"]), tuple(spec["targets"]), spec["learning_rate"]
        if len(inputs) != L[0] or len(targets) != L[-1]:
            return None
        flat = [x for m in weights for r in m for x in r]
        flat += inputs
        flat += targets
        flat.append(lr)
        b = spec.get("biases")
        if arch.bias == "none":
            if b is not None:
                return None
            biases: tuple = ()
        elif arch.bias == "shared":
            biases = tuple(b)
            if len(biases) != arch.depth:
                return None
            flat += biases
        else:
            biases = tuple(map(tuple, b))
            if list(map(len, biases)) != per_layer:
                return None
            for r in biases:
                flat += r
        # Every value a float (no bool, int or text) and finite: a NaN or an infinity makes the sum
        # NaN or infinite (as would an overflow of finite values, which merely takes the slow path).
        if set(map(type, flat)) != _FLOAT or not math.isfinite(sum(flat)) or not lr > 0:
            return None
        if arch.loss in ("bce", "cross_entropy"):
            check_outputs(arch, targets, "")
    except (TypeError, KeyError, NnexamError, OverflowError, AttributeError):
        return None
    return Network(arch, weights, biases, inputs, targets, lr, first.notation, first.names)


def manifest_from_dict(d: Mapping[str, Any], source: str) -> Manifest:
    """Check and build a Manifest from its JSON mapping."""
    if d.get("format") != FORMAT:
        raise NnexamError(f"{source}: not an nnexam manifest (key 'format' should be \"{FORMAT}\")")
    if d.get("format_version") != FORMAT_VERSION:
        raise NnexamError(f"{source}: manifest format_version {d.get('format_version')!r}; this nnexam reads {FORMAT_VERSION}")
    questions = []
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
    notation = d.get("notation", "mazur")
    if notation not in STYLES:
        raise NnexamError(f"{source}: key 'notation' must be one of {', '.join(STYLES)}")
    students = []
    arch = None
    first: Network | None = None
    first_meta: dict[str, Any] = {}
    for i, s in enumerate(_need(d, "students", source, list)):
        where = f"{source}: students[{i}]"
        if not isinstance(s, dict):
            raise NnexamError(f"{where}: expected an object")
        spec = _need(s, "network", where, dict)
        net = _fast_network(spec, first, first_meta) if first is not None else None
        if net is None:  # the first student, or anything unusual: the full check, with its messages
            net = parse_spec(spec, f"{where}.network")
        if first is None:
            first, first_meta = net, {k: spec.get(k) for k in _META_KEYS}
        if arch is None:
            arch = net.arch
        elif net.arch is not arch and net.arch != arch:
            raise NnexamError(f"{where}: network architecture differs from the first student's")
        answers = _need(s, "answers", where, dict)
        if set(map(type, answers.values())) - _FLOAT or not math.isfinite(sum(answers.values())):  # check each
            for k, v in answers.items():
                if type(v) not in (int, float) or not math.isfinite(v):
                    raise NnexamError(f"{where}.answers.{k}: expected a finite number")
            answers = {k: float(v) for k, v in answers.items()}
        files = s.get("files", {})
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise NnexamError(f"{where}.files: expected an object of file paths")
        name = s.get("name", "")
        students.append(StudentVariant(
            _need(s, "id", where, str), name if isinstance(name, str) else str(name), _need(s, "variant", where, str),
            net, answers, files,
        ))
    if not students:
        raise NnexamError(f"{source}: the manifest lists no students")
    if len({st.id for st in students}) != len(students):
        seen: set[str] = set()
        dup = next(i for i, st in enumerate(students) if st.id in seen or seen.add(st.id))
        raise NnexamError(f"{source}: students[{dup}]: id {students[dup].id!r} appears twice")
    graph = build_graph(arch)
    for q in questions:
        if q.name not in graph:
            raise NnexamError(f"{source}: question '{q.name}' is not a step of this network")
    return Manifest(
        str(_need(d, "seed", source, (str, int))), str(d.get("bank_name", "")), str(d.get("bank_hash", "")),
        d.get("bank", {}), str(d.get("title", "")), str(d.get("course", "")), str(d.get("date", "")),
        notation, tuple(questions), tuple(students), str(d.get("nnexam_version", "")),
    )


def load_manifest(path: str | Path) -> Manifest:
    """Read DIR/manifest.json (or a manifest file path)."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NnexamError(f"{path}: no manifest here (run `nnexam generate` first)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise NnexamError(f"{path}: cannot read manifest ({e})") from None
    try:
        d = json.loads(raw)
    except json.JSONDecodeError as e:
        raise NnexamError(f"{path}: manifest is not valid JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(d, dict):
        raise NnexamError(f"{path}: manifest is not a JSON object")
    return manifest_from_dict(d, str(path))


__all__ = ["Manifest", "Question", "StudentVariant", "load_manifest", "manifest_from_dict", "parse_architecture"]
