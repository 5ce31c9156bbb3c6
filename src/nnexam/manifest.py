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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import NnexamError
from .graph import StepGraph, build_graph
from .notation import Label, labels
from .spec import Architecture, Network, parse_architecture, parse_spec

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
            "students": [s.to_dict() for s in self.students],
        }

    def to_json(self) -> bytes:
        """Deterministic bytes: same manifest, same file."""
        return (json.dumps(self.to_dict(), indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def _need(d: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in d:
        raise NnexamError(f"{where}: missing key '{key}'")
    v = d[key]
    if not isinstance(v, kind) or (kind in (int, float, (int, float)) and isinstance(v, bool)):
        raise NnexamError(f"{where}: key '{key}' has the wrong type")
    return v


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
        questions.append(Question(
            _need(q, "name", where, str), _need(q, "label", where, str), _need(q, "task", where, str),
            float(_need(q, "points", where, (int, float))), int(_need(q, "decimals", where, int)),
            kind, float(tol.get("value", 0.0)),
        ))
    students = []
    arch = None
    for i, s in enumerate(_need(d, "students", source, list)):
        where = f"{source}: students[{i}]"
        if not isinstance(s, dict):
            raise NnexamError(f"{where}: expected an object")
        net = parse_spec(_need(s, "network", where, dict), f"{where}.network")
        if arch is None:
            arch = net.arch
        elif net.arch != arch:
            raise NnexamError(f"{where}: network architecture differs from the first student's")
        answers = {k: float(v) for k, v in _need(s, "answers", where, dict).items()}
        students.append(StudentVariant(
            str(_need(s, "id", where, str)), str(s.get("name", "")), str(_need(s, "variant", where, str)),
            net, answers, dict(s.get("files", {})),
        ))
    if not students:
        raise NnexamError(f"{source}: the manifest lists no students")
    graph = build_graph(arch)
    for q in questions:
        if q.name not in graph:
            raise NnexamError(f"{source}: question '{q.name}' is not a step of this network")
    return Manifest(
        str(_need(d, "seed", source, (str, int))), str(d.get("bank_name", "")), str(d.get("bank_hash", "")),
        d.get("bank", {}), str(d.get("title", "")), str(d.get("course", "")), str(d.get("date", "")),
        str(d.get("notation", "mazur")), tuple(questions), tuple(students), str(d.get("nnexam_version", "")),
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
