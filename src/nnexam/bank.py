"""Problem banks: a TOML template of one exercise (architecture, how values are drawn, what is asked).

A bank is parsed and checked in full before anything is drawn; every mistake is one NnexamError
naming the file and the key. The README's "Problem banks" section documents the format.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.resources
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


from .errors import NnexamError
from .graph import TASKS, StepGraph, build_graph
from .manifest import TOLERANCE_KINDS
from .notation import check_unique_labels
from .spec import Architecture, _show, check_outputs, counted, parse_architecture, parse_names, read_mapping, NOTATIONS

DEFAULT_BANK = "classic"
GROUPS = ("inputs", "targets", "learning_rate", "weights", "biases")
STEP_KINDS = ("z", "a", "E_j", "E", "dE_da", "da_dz", "delta", "dE_dw", "dE_db", "w_new", "b_new",
              "z_new", "a_new", "E_j_new", "E_new")
_ARCH_KEYS = {"layers", "activations", "loss", "bias", "update_biases", "leaky_slope"}
_TOP_KEYS = _ARCH_KEYS | {"title", "course", "date", "notation", "names", "decimals", "tolerance",
                          "allow_inactive_zero", "min_loss", "draws", "tasks", "working_space"}
# Room to work on the sheet: below every task (the default), a page at the end, or none.
WORKING_SPACE = ("below", "end", "none")
_MAX_GRID = 100_000
_MAX_TOLERANCE = 1e6  # wider accepts any answer a student could write: a typo, not a tolerance


@dataclass(frozen=True)
class Draw:
    """How one group (or one layer of a group) is drawn: grid/choice values, or whole vectors."""

    values: tuple[float, ...] = ()  # each element independently, uniformly from these
    vectors: tuple[tuple[float, ...], ...] = ()  # the whole group at once, uniformly from these


@dataclass(frozen=True)
class Task:
    """One [[tasks]] entry: which steps it asks, and how each answer is scored."""

    task: str
    steps: tuple[str, ...]
    points: float
    decimals: int
    tolerance_kind: str
    tolerance_value: float


@dataclass(frozen=True)
class Bank:
    """A checked problem bank."""

    name: str
    source: str
    data: Mapping[str, Any]  # the mapping as read (dates as ISO strings), stored in the manifest
    hash: str
    title: str
    course: str
    date: str
    arch: Architecture
    notation: str
    names: tuple[tuple[str, str], ...]
    decimals: int
    allow_inactive_zero: bool
    min_loss: float
    draws: Mapping[str, tuple[Draw, ...]]  # group -> one Draw, or one per layer (weights, biases)
    tasks: tuple[Task, ...]

    @property
    def graph(self) -> StepGraph:
        return build_graph(self.arch)


# --- finding banks ---------------------------------------------------------------------------


def bundled_dir() -> Path:
    """Where the bundled banks live: the package nnexam.banks (problem_banks/ in a checkout, package data when installed)."""
    return Path(str(importlib.resources.files("nnexam.banks")))


def bundled_banks() -> list[tuple[str, Path]]:
    """(name, path) of every bundled bank, by name."""
    return sorted((p.stem, p) for p in bundled_dir().glob("*.toml"))


def bundled_examples() -> list[tuple[str, Path]]:
    """(name, path) of every bundled example spec (a published worked exercise to solve), by name."""
    return sorted((p.stem, p) for p in (bundled_dir() / "examples").glob("*.toml"))


def find_spec(name_or_path: str) -> Path:
    """A spec file from a path or a bundled example's name (mazur_2-2-2, ...)."""
    path = Path(name_or_path)
    examples = dict(bundled_examples())
    if name_or_path in examples and not path.is_file():
        return examples[name_or_path]
    if path.suffix.lower() in (".toml", ".json") or path.exists() or "/" in name_or_path or "\\" in name_or_path:
        return path
    raise NnexamError(f"{name_or_path}: no such spec file, and not a bundled example "
                      f"(bundled: {', '.join(examples) or 'none'})")


def find_bank(name_or_path: str | None) -> Path:
    """A bank file from a path or a bundled bank's name (None: the classic bank)."""
    target = name_or_path or DEFAULT_BANK
    path = Path(target)
    bundled = dict(bundled_banks())
    if target in bundled and not path.is_file():  # a folder named like a bundled bank is not a bank
        return bundled[target]
    if path.suffix.lower() in (".toml", ".json") or path.exists() or "/" in target or "\\" in target:
        return path
    raise NnexamError(f"{target}: no such bank file, and not a bundled bank (bundled: {', '.join(bundled) or 'none'})")


def load_bank(name_or_path: str | None = None) -> Bank:
    """Find, read and check a bank."""
    path = find_bank(name_or_path)
    return parse_bank(read_mapping(path, "bank"), str(path), path.stem)


# --- parsing ---------------------------------------------------------------------------------


def bank_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 of the bank's canonical JSON: comments and formatting of the file do not count."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    """TOML dates and times become ISO strings, so the bank can be hashed and stored as JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


class _Keys:
    """One-line errors that name the bank file and the key."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, expected: str, got: Any = None) -> NnexamError:
        tail = f", got {_show(got)}" if got is not None else ""
        return NnexamError(f"{self.source}: key '{key}': expected {expected}{tail}")

    def number(self, key: str, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(key, "a finite number", v)
        try:
            v = float(v)
        except OverflowError:  # a JSON integer beyond any float
            raise self.fail(key, "a finite number") from None
        if not math.isfinite(v):
            raise self.fail(key, "a finite number", v)
        return v

    def integer(self, key: str, v: Any, low: int, high: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise self.fail(key, f"a whole number from {low} to {high}", v)
        return v

    def string(self, key: str, v: Any) -> str:
        if not isinstance(v, str):
            raise self.fail(key, "a string in quotes", v)
        return v

    def table(self, key: str, v: Any, allowed: set[str]) -> dict:
        if not isinstance(v, dict):
            raise self.fail(key, "a table { ... }", v)
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise NnexamError(f"{self.source}: unknown key '{key}.{unknown[0]}' (expected one of {', '.join(sorted(allowed))})")
        return v


def _grid(k: _Keys, key: str, spec: dict) -> tuple[float, ...]:
    lo, hi, step = (k.number(f"{key}.{n}", spec[n]) if n in spec else None for n in ("min", "max", "step"))
    if lo is None or hi is None or step is None:
        raise k.fail(key, "a grid { min = ..., max = ..., step = ... } or { choices = [...] }", spec)
    if step <= 0:
        raise k.fail(f"{key}.step", "a positive number", step)
    if hi < lo:
        raise k.fail(f"{key}.max", f"a number >= min ({lo:g})", hi)
    count = (hi - lo) / step
    n = round(count)
    if abs(count - n) > 1e-9 * max(1.0, count):
        raise k.fail(key, f"max - min a whole multiple of step ({hi:g} - {lo:g} is not a multiple of {step:g})")
    if n + 1 > _MAX_GRID:
        raise k.fail(key, f"at most {_MAX_GRID} grid values", n + 1)
    # Exact decimal grid values, as the sheet prints them: round(min + i*step, 10) in Python.
    values = [round(lo + i * step, 10) + 0.0 for i in range(n + 1)]
    exclude = spec.get("exclude", [])
    if not isinstance(exclude, list):
        raise k.fail(f"{key}.exclude", "a list of numbers", exclude)
    drop = {round(k.number(f"{key}.exclude[{i}]", v), 10) for i, v in enumerate(exclude)}
    return tuple(v for v in values if round(v, 10) not in drop)


def _draw(k: _Keys, key: str, spec: Any, group: str, width: int) -> Draw:
    """One draw spec: a grid, choices, vectors (inputs, targets) or one_hot (targets)."""
    allowed = {"min", "max", "step", "exclude", "choices"}
    if group in ("inputs", "targets"):
        allowed |= {"vectors"}
    if group == "targets":
        allowed |= {"one_hot"}
    spec = k.table(key, spec, allowed)
    forms = [f for f in ("choices", "vectors", "one_hot") if f in spec]
    if len(forms) > 1 or (forms and any(n in spec for n in ("min", "max", "step"))):
        raise k.fail(key, "one of: a grid { min, max, step }, choices = [...], vectors = [[...]], one_hot = true")
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise k.fail(f"{key}.choices", "a non-empty list of numbers", choices)
        values = tuple(round(k.number(f"{key}.choices[{i}]", v), 10) + 0.0 for i, v in enumerate(choices))
        return Draw(values=values)
    if "vectors" in spec:
        vecs = spec["vectors"]
        if not isinstance(vecs, list) or not vecs:
            raise k.fail(f"{key}.vectors", f"a non-empty list of lists of {counted(width, 'number')}", vecs)
        out = []
        for i, v in enumerate(vecs):
            if not isinstance(v, list) or len(v) != width:
                raise k.fail(f"{key}.vectors[{i}]", f"a list of {counted(width, 'number')}", v)
            out.append(tuple(round(k.number(f"{key}.vectors[{i}][{m}]", x), 10) + 0.0 for m, x in enumerate(v)))
        return Draw(vectors=tuple(out))
    if "one_hot" in spec:
        if spec["one_hot"] is not True:
            raise k.fail(f"{key}.one_hot", "true", spec["one_hot"])
        return Draw(vectors=tuple(tuple(1.0 if m == j else 0.0 for m in range(width)) for j in range(width)))
    values = _grid(k, key, spec)
    if not values:
        raise k.fail(key, "at least one value left after 'exclude'")
    return Draw(values=values)


def _draws(k: _Keys, data: Mapping[str, Any], arch: Architecture) -> dict[str, tuple[Draw, ...]]:
    groups = [g for g in GROUPS if not (g == "biases" and arch.bias == "none")]
    raw = k.table("draws", data.get("draws"), set(groups)) if "draws" in data else None
    if raw is None:
        raise NnexamError(f"{k.source}: missing table 'draws' (how inputs, targets, weights, biases and learning_rate are drawn)")
    widths = {"inputs": arch.layers[0], "targets": arch.layers[-1], "learning_rate": 1}
    out: dict[str, tuple[Draw, ...]] = {}
    for g in groups:
        if g not in raw:
            raise NnexamError(f"{k.source}: missing key 'draws.{g}'")
        spec = raw[g]
        if g in ("weights", "biases") and isinstance(spec, list):
            if len(spec) != arch.depth:
                raise k.fail(f"draws.{g}", f"one draw for all layers, or a list of {arch.depth} (one per weight layer)", counted(len(spec), "entry", "entries"))
            out[g] = tuple(_draw(k, f"draws.{g}[{i}]", s, g, 1) for i, s in enumerate(spec))
        else:
            out[g] = (_draw(k, f"draws.{g}", spec, g, widths.get(g, 1)),)
    _check_draws(k, arch, out)
    return out


def _check_draws(k: _Keys, arch: Architecture, draws: Mapping[str, tuple[Draw, ...]]) -> None:
    """Values every variant can take must make a valid spec: positive learning rate, targets the loss accepts."""
    if min(draws["learning_rate"][0].values) <= 0:
        raise k.fail("draws.learning_rate", "only positive learning rates", min(draws["learning_rate"][0].values))
    t = draws["targets"][0]
    if arch.loss == "cross_entropy" and arch.activations[-1] == "softmax" and not t.vectors:
        raise k.fail("draws.targets", "vectors = [[...]] or one_hot = true (softmax cross-entropy targets must sum to 1)")
    if t.vectors:
        for i, v in enumerate(t.vectors):
            check_outputs(arch, v, k.source, f"draws.targets.vectors[{i}]")
    else:
        check_outputs(arch, (min(t.values), max(t.values)), k.source, "draws.targets")


def _tolerance(k: _Keys, key: str, v: Any) -> tuple[str, float]:
    v = k.table(key, v, {"kind", "value"})
    kind = v.get("kind")
    if kind not in TOLERANCE_KINDS:
        raise k.fail(f"{key}.kind", "one of " + ", ".join(TOLERANCE_KINDS), kind)
    value = k.number(f"{key}.value", v.get("value", 0.0))
    if not 0 <= value <= _MAX_TOLERANCE:
        raise k.fail(f"{key}.value", "a number from 0 to 1e6", value)
    return kind, value


def _tasks(k: _Keys, data: Mapping[str, Any], graph: StepGraph, decimals: int, tolerance: tuple[str, float]) -> tuple[Task, ...]:
    raw = data.get("tasks")
    if not isinstance(raw, list) or not raw:
        raise NnexamError(f"{k.source}: missing [[tasks]]: expected at least one task (one of {', '.join(TASKS)})")
    taken: dict[str, int] = {}
    out = []
    for i, t in enumerate(raw):
        key = f"tasks[{i}]"
        t = k.table(key, t, {"task", "points", "decimals", "tolerance", "steps", "kinds", "layers"})
        name = t.get("task")
        if name not in TASKS:
            raise k.fail(f"{key}.task", "one of " + ", ".join(TASKS), name)
        candidates = [s for s in graph.steps if s.task == name]
        if "steps" in t:
            wanted = t["steps"]
            if not isinstance(wanted, list) or not wanted:
                raise k.fail(f"{key}.steps", "a non-empty list of canonical step names", wanted)
            valid = {s.name for s in candidates}
            for m, s in enumerate(wanted):
                if s not in valid:
                    shown = ", ".join(sorted(valid)[:12]) + (", ..." if len(valid) > 12 else "")
                    raise k.fail(f"{key}.steps[{m}]", f"a step of task '{name}' in this network ({shown})", s)
            chosen = set(wanted)
            candidates = [s for s in candidates if s.name in chosen]
        if "kinds" in t:
            kinds = t["kinds"]
            if not isinstance(kinds, list) or not kinds or any(x not in STEP_KINDS for x in kinds):
                raise k.fail(f"{key}.kinds", "a list of step kinds (" + ", ".join(STEP_KINDS) + ")", kinds)
            candidates = [s for s in candidates if s.kind in kinds]
        if "layers" in t:
            layers = t["layers"]
            if not isinstance(layers, list) or not layers or any(isinstance(x, bool) or not isinstance(x, int) for x in layers):
                raise k.fail(f"{key}.layers", f"a list of layer numbers from 1 to {graph.arch.depth}", layers)
            candidates = [s for s in candidates if s.layer in layers]
        if not candidates:
            raise k.fail(key, f"a selection that asks at least one step of this network (task '{name}' selects none)")
        for s in candidates:
            if s.name in taken:
                raise k.fail(key, f"each step asked once ('{s.name}' is already asked by tasks[{taken[s.name]}])")
            taken[s.name] = i
        points = k.number(f"{key}.points", t.get("points", 1))
        if points < 0:
            raise k.fail(f"{key}.points", "a number >= 0", points)
        d = k.integer(f"{key}.decimals", t.get("decimals", decimals), 0, 10)
        kind, value = _tolerance(k, f"{key}.tolerance", t["tolerance"]) if "tolerance" in t else tolerance
        out.append(Task(name, tuple(s.name for s in candidates), points, d, kind, value))
    return tuple(out)


def parse_bank(data: Mapping[str, Any], source: str, name: str) -> Bank:
    """Check a whole bank mapping, or raise one clear NnexamError naming the key."""
    data = _jsonable(dict(data))
    k = _Keys(source)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise NnexamError(f"{source}: unknown key '{unknown[0]}' (expected one of {', '.join(sorted(_TOP_KEYS))})")
    arch = parse_architecture(data, source)
    if "title" not in data:
        raise NnexamError(f"{source}: missing key 'title'")
    title = k.string("title", data["title"])
    course = k.string("course", data.get("course", ""))
    date = k.string("date", data.get("date", ""))
    notation = data.get("notation", "mazur")
    if notation not in NOTATIONS:
        raise k.fail("notation", "one of " + ", ".join(NOTATIONS), notation)
    names = parse_names(data, source, arch)
    check_unique_labels(arch, notation, dict(names), source)
    decimals = k.integer("decimals", data.get("decimals", 4), 0, 10)
    tolerance = _tolerance(k, "tolerance", data["tolerance"]) if "tolerance" in data else ("decimals", 0.0)
    allow_zero = data.get("allow_inactive_zero", False)
    if not isinstance(allow_zero, bool):
        raise k.fail("allow_inactive_zero", "true or false", allow_zero)
    if data.get("working_space", "below") not in WORKING_SPACE:
        raise k.fail("working_space", "one of " + ", ".join(WORKING_SPACE), data["working_space"])
    min_loss = k.number("min_loss", data.get("min_loss", 0.01))
    if min_loss < 0:
        raise k.fail("min_loss", "a number >= 0", min_loss)
    draws = _draws(k, data, arch)
    graph = build_graph(arch)
    tasks = _tasks(k, data, graph, decimals, tolerance)
    return Bank(name, source, data, bank_hash(data), title, course, date, arch, notation, names, decimals,
                allow_zero, min_loss, draws, tasks)
