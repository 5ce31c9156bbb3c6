"""The network spec: a TOML (or JSON) file describing one exercise, parsed and checked in full."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import NnexamError
from .files import read_input

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax")
LOSSES = ("half_sse", "mse", "bce", "cross_entropy")
BIAS_MODES = ("per_neuron", "shared", "none")
NOTATIONS = ("mazur", "bits", "matrix")
MAX_WIDTH = 8


@dataclass(frozen=True)
class Architecture:
    """What every variant of one exercise shares: shapes, activations, loss and bias rules."""

    layers: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    bias: str = "per_neuron"
    update_biases: bool = True
    leaky_slope: float = 0.01

    @property
    def depth(self) -> int:
        """Number of weight layers."""
        return len(self.layers) - 1

    def given_names(self) -> tuple[str, ...]:
        """Canonical names of every given value, in a fixed order."""
        names = [f"x_{k}" for k in range(1, self.layers[0] + 1)]
        names += [f"t_{j}" for j in range(1, self.layers[-1] + 1)]
        names.append("eta")
        for l in range(1, self.depth + 1):
            names += [f"w{l}_{j}_{k}" for j in range(1, self.layers[l] + 1) for k in range(1, self.layers[l - 1] + 1)]
        names += self.bias_names()
        return tuple(names)

    def weight_names(self) -> tuple[str, ...]:
        return tuple(
            f"w{l}_{j}_{k}"
            for l in range(1, self.depth + 1)
            for j in range(1, self.layers[l] + 1)
            for k in range(1, self.layers[l - 1] + 1)
        )

    def bias_names(self) -> tuple[str, ...]:
        if self.bias == "shared":
            return tuple(f"b{l}" for l in range(1, self.depth + 1))
        if self.bias == "per_neuron":
            return tuple(f"b{l}_{j}" for l in range(1, self.depth + 1) for j in range(1, self.layers[l] + 1))
        return ()


@dataclass(frozen=True)
class Network:
    """One exercise: an architecture and its given values (one variant)."""

    arch: Architecture
    weights: tuple[tuple[tuple[float, ...], ...], ...]
    biases: tuple  # per_neuron: tuple of tuples; shared: tuple of floats; none: ()
    inputs: tuple[float, ...]
    targets: tuple[float, ...]
    learning_rate: float
    notation: str = "mazur"
    names: tuple[tuple[str, str], ...] = field(default=())

    def givens(self) -> dict[str, np.ndarray]:
        """Every given value by canonical name, as arrays with a variant axis of length 1."""
        return {name: np.array([v], dtype=float) for name, v in self.given_values().items()}

    def given_values(self) -> dict[str, float]:
        """Every given value by canonical name, as plain floats."""
        values: dict[str, float] = {}
        for k, x in enumerate(self.inputs, 1):
            values[f"x_{k}"] = x
        for j, t in enumerate(self.targets, 1):
            values[f"t_{j}"] = t
        values["eta"] = self.learning_rate
        for l, matrix in enumerate(self.weights, 1):
            for j, row in enumerate(matrix, 1):
                for k, w in enumerate(row, 1):
                    values[f"w{l}_{j}_{k}"] = w
        if self.arch.bias == "shared":
            for l, b in enumerate(self.biases, 1):
                values[f"b{l}"] = b
        elif self.arch.bias == "per_neuron":
            for l, row in enumerate(self.biases, 1):
                for j, b in enumerate(row, 1):
                    values[f"b{l}_{j}"] = b
        return values

    def values(self) -> tuple[float, ...]:
        """Every given value, in the order of `Architecture.given_names()`."""
        return tuple(self.given_values().values())

    def to_dict(self) -> dict[str, Any]:
        """The spec as the TOML/JSON mapping `nnexam solve` reads."""
        return network_dict(self.arch, self.given_values(), self.notation, dict(self.names))


@lru_cache(maxsize=16)
def _slices(arch: Architecture) -> tuple[tuple[tuple[slice, ...], ...], tuple[slice, ...]]:
    """Where each weight row and each bias group sits in a list of values in given_names() order."""
    L = arch.layers
    i = L[0] + L[-1] + 1  # after the inputs, the targets and the learning rate
    weights = []
    for l in range(1, arch.depth + 1):
        weights.append(tuple(slice(i + j * L[l - 1], i + (j + 1) * L[l - 1]) for j in range(L[l])))
        i += L[l] * L[l - 1]
    if arch.bias == "shared":
        return tuple(weights), (slice(i, i + arch.depth),)
    biases = []
    if arch.bias == "per_neuron":
        for l in range(1, arch.depth + 1):
            biases.append(slice(i, i + L[l]))
            i += L[l]
    return tuple(weights), tuple(biases)


def network_from_values(arch: Architecture, values: tuple[float, ...], notation: str = "mazur",
                        names: tuple[tuple[str, str], ...] = ()) -> Network:
    """The Network whose given values, in `given_names()` order, are `values` (floats, already checked).

    A manifest of 100,000 students builds 100,000 of these, so slicing is done with map.
    """
    weight_rows, bias_groups = _slices(arch)
    nx, nt = arch.layers[0], arch.layers[-1]
    weights = tuple([tuple(map(values.__getitem__, rows)) for rows in weight_rows])
    if arch.bias == "shared":
        biases: tuple = values[bias_groups[0]]
    else:
        biases = tuple(map(values.__getitem__, bias_groups))
    return Network(arch, weights, biases, values[:nx], values[nx:nx + nt], values[nx + nt], notation, names)


def network_dict(arch: Architecture, givens: Mapping[str, float], notation: str, names: Mapping[str, str]) -> dict[str, Any]:
    """Build a spec mapping from canonical given values (used for manifests and exports)."""
    d: dict[str, Any] = {
        "layers": list(arch.layers),
        "activations": list(arch.activations),
        "loss": arch.loss,
        "learning_rate": givens["eta"],
        "bias": arch.bias,
        "update_biases": arch.update_biases,
    }
    if "leaky_relu" in arch.activations:
        d["leaky_slope"] = arch.leaky_slope
    d["weights"] = [
        [[givens[f"w{l}_{j}_{k}"] for k in range(1, arch.layers[l - 1] + 1)] for j in range(1, arch.layers[l] + 1)]
        for l in range(1, arch.depth + 1)
    ]
    if arch.bias == "shared":
        d["biases"] = [givens[f"b{l}"] for l in range(1, arch.depth + 1)]
    elif arch.bias == "per_neuron":
        d["biases"] = [[givens[f"b{l}_{j}"] for j in range(1, arch.layers[l] + 1)] for l in range(1, arch.depth + 1)]
    d["inputs"] = [givens[f"x_{k}"] for k in range(1, arch.layers[0] + 1)]
    d["targets"] = [givens[f"t_{j}"] for j in range(1, arch.layers[-1] + 1)]
    d["notation"] = notation
    if names:
        d["names"] = dict(names)
    return d


# --- reading ---------------------------------------------------------------------------------


def read_mapping(path: str | Path, what: str = "spec") -> dict[str, Any]:
    """Read a TOML (or .json) file into a mapping, or raise one clear NnexamError."""
    path = Path(path)
    raw = read_input(path, what)
    if not raw.strip():
        raise NnexamError(f"{path}: the {what} file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NnexamError(f"{path}: not a text file (expected UTF-8 TOML)") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise NnexamError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
        except (ValueError, RecursionError) as e:  # an integer over 4300 digits, or nesting too deep
            raise NnexamError(f"{path}: not valid JSON ({str(e).splitlines()[0] or 'nested too deeply'})") from None
        if not isinstance(data, dict):
            raise NnexamError(f"{path}: expected a JSON object at the top level")
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise NnexamError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:
        raise NnexamError(f"{path}: not valid TOML (arrays or tables nested too deeply)") from None


_MISSING = object()  # `number(key)` reads the key itself; an explicit JSON null is a value, not a missing key


class _Checker:
    """Reads keys of one mapping, raising one-line errors that name the file and the key."""

    def __init__(self, data: Mapping[str, Any], source: str):
        self.data = data
        self.source = source

    def fail(self, key: str, expected: str, got: Any = None) -> NnexamError:
        tail = f", got {_show(got)}" if got is not None else ""
        return NnexamError(f"{self.source}: key '{key}': expected {expected}{tail}")

    def require(self, key: str) -> Any:
        if key not in self.data:
            raise NnexamError(f"{self.source}: missing key '{key}'")
        return self.data[key]

    def number(self, key: str, value: Any = _MISSING, *, default: Any = None, low: float | None = None, high: float | None = None) -> float:
        if value is _MISSING:
            value = self.data.get(key, default) if default is not None else self.require(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if value is None:
                raise NnexamError(f"{self.source}: key '{key}': expected a number, got null")
            raise self.fail(key, "a number", value)
        try:
            value = float(value)
        except OverflowError:  # a JSON integer too large for a float
            raise self.fail(key, "a finite number", value) from None
        if not math.isfinite(value):
            raise self.fail(key, "a finite number", value)
        if low is not None and value < low or high is not None and value > high:
            raise self.fail(key, f"a number in [{low}, {high}]", value)
        return value

    def numbers(self, key: str, value: Any, length: int) -> tuple[float, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"a list of {counted(length, 'number')}", value)
        if len(value) != length:
            raise self.fail(key, counted(length, "number"), len(value))
        return tuple(self.number(f"{key}[{i}]", v) for i, v in enumerate(value))

    def choice(self, key: str, options: tuple[str, ...], *, default: str | None = None, value: Any = None) -> str:
        if value is None:
            value = self.data.get(key, default) if default is not None else self.require(key)
        if value not in options:
            raise self.fail(key, "one of " + ", ".join(options), value)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value


def _key(name: str) -> str:
    """A key from the file, printable on one line (a TOML key may hold a newline)."""
    return name if name.isprintable() else repr(name)[1:-1]


class Plain(str):
    """Text of ours after 'got' (a count such as '3 rows'): shown as is, not quoted like a string from the file."""


def counted(n: int, noun: str, plural: str | None = None) -> Plain:
    """'1 number', '2 numbers' (plural given when not noun + 's': '2 matrices')."""
    return Plain(f"{n} {noun if n == 1 else plural or noun + 's'}")


def _show(value: Any) -> str:
    s = repr(value) if isinstance(value, str) and not isinstance(value, Plain) else str(value)
    return s if len(s) <= 60 else s[:57] + "..."


def parse_architecture(data: Mapping[str, Any], source: str) -> Architecture:
    """Check the architecture keys shared by specs and banks."""
    c = _Checker(data, source)
    layers = c.require("layers")
    if not isinstance(layers, list) or len(layers) < 2:
        raise c.fail("layers", "a list of at least 2 layer sizes, input first", layers)
    for i, n in enumerate(layers):
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_WIDTH:
            raise c.fail(f"layers[{i}]", f"a whole number from 1 to {MAX_WIDTH}", n)
    depth = len(layers) - 1
    acts = c.require("activations")
    if not isinstance(acts, list) or len(acts) != depth:
        raise c.fail("activations", f"a list of {depth} activations, one per non-input layer", acts)
    for i, a in enumerate(acts):
        c.choice(f"activations[{i}]", ACTIVATIONS, value=a)
        if a == "softmax" and i != depth - 1:
            raise c.fail(f"activations[{i}]", "softmax only in the output layer", a)
    if acts[-1] == "softmax" and layers[-1] < 2:
        raise c.fail("activations", "softmax on an output layer of at least 2 neurons", acts)
    loss = c.choice("loss", LOSSES)
    if loss == "bce" and acts[-1] != "sigmoid":
        raise c.fail("activations", "sigmoid output activation for loss 'bce' (outputs must stay in (0, 1))", acts[-1])
    if loss == "cross_entropy" and acts[-1] not in ("softmax", "sigmoid"):
        raise c.fail("activations", "softmax or sigmoid output activation for loss 'cross_entropy'", acts[-1])
    bias = c.choice("bias", BIAS_MODES, default="per_neuron")
    update = c.boolean("update_biases", True)
    slope = c.number("leaky_slope", default=0.01, low=0.0, high=1.0)
    return Architecture(tuple(layers), tuple(acts), loss, bias, update, slope)


def parse_names(data: Mapping[str, Any], source: str, arch: Architecture) -> tuple[tuple[str, str], ...]:
    """The optional `names` table: printed name -> canonical name of a given value or a neuron."""
    names = data.get("names", {})
    if not isinstance(names, dict):
        raise NnexamError(f"{source}: key 'names': expected a table such as {{ w2 = \"w1_2_1\" }}")
    allowed = set(arch.given_names()) | {
        f"a{l}_{j}" for l in range(1, arch.depth + 1) for j in range(1, arch.layers[l] + 1)
    }
    seen: dict[str, str] = {}
    for printed, canonical in names.items():
        if not isinstance(canonical, str) or canonical not in allowed:
            raise NnexamError(
                f"{source}: key 'names.{_key(printed)}': expected the canonical name of a weight, bias, input, "
                f"target or neuron of this network (such as w1_2_1, b2, x_1, t_1, a1_2), got {_show(canonical)}"
            )
        if canonical in seen:
            raise NnexamError(f"{source}: key 'names.{_key(printed)}': {canonical} is already named '{seen[canonical]}'")
        if not printed or not all(ch.isalnum() or ch in "_'" for ch in printed):
            raise NnexamError(f"{source}: key 'names.{_key(printed)}': expected a printed name of letters, digits and _")
        seen[canonical] = printed
    # That no printed name collides with another value's (w2 for w1_2_1 while w1_1_2 prints as w2)
    # is the notation's to say: notation.check_unique_labels, called by whoever loads the names.
    return tuple(sorted(names.items()))


def check_outputs(arch: Architecture, targets: tuple[float, ...], source: str, key: str = "targets") -> None:
    """Targets a loss can take: bce and cross_entropy need [0, 1]; softmax cross-entropy sums to 1."""
    if arch.loss in ("bce", "cross_entropy"):
        for i, t in enumerate(targets):
            if not 0.0 <= t <= 1.0:
                raise NnexamError(f"{source}: key '{key}[{i}]': expected a target in [0, 1] for loss '{arch.loss}', got {t:g}")
    if arch.loss == "cross_entropy" and arch.activations[-1] == "softmax" and abs(sum(targets) - 1.0) > 1e-9:
        raise NnexamError(f"{source}: key '{key}': expected targets summing to 1 for softmax with cross_entropy, got sum {sum(targets):g}")


def parse_spec(data: Mapping[str, Any], source: str) -> Network:
    """Check a whole spec mapping and build the Network, or raise one clear NnexamError."""
    arch = parse_architecture(data, source)
    c = _Checker(data, source)
    layers = arch.layers
    weights_raw = c.require("weights")
    if not isinstance(weights_raw, list) or len(weights_raw) != arch.depth:
        raise c.fail("weights", f"{counted(arch.depth, 'matrix', 'matrices')}, one per weight layer", len(weights_raw) if isinstance(weights_raw, list) else weights_raw)
    weights = []
    for l, m in enumerate(weights_raw, 1):
        rows, cols = layers[l], layers[l - 1]
        if not isinstance(m, list) or len(m) != rows:
            raise c.fail(f"weights[{l - 1}]", f"a {rows}x{cols} matrix (row = receiving neuron, column = sending neuron)", counted(len(m), "row") if isinstance(m, list) else m)
        weights.append(tuple(c.numbers(f"weights[{l - 1}][{j}]", row, cols) for j, row in enumerate(m)))
    if arch.bias == "none":
        if "biases" in data:
            raise c.fail("biases", "no biases when bias = \"none\"")
        biases: tuple = ()
    else:
        b = c.require("biases")
        if not isinstance(b, list) or len(b) != arch.depth:
            raise c.fail("biases", f"{counted(arch.depth, 'entry', 'entries')}, one per weight layer", b)
        if arch.bias == "shared":
            biases = tuple(c.number(f"biases[{i}]", v) for i, v in enumerate(b))
        else:
            biases = tuple(c.numbers(f"biases[{l - 1}]", row, layers[l]) for l, row in enumerate(b, 1))
    inputs = c.numbers("inputs", c.require("inputs"), layers[0])
    targets = c.numbers("targets", c.require("targets"), layers[-1])
    check_outputs(arch, targets, source)
    lr = c.number("learning_rate")
    if lr <= 0:
        raise c.fail("learning_rate", "a positive number", lr)
    notation = c.choice("notation", NOTATIONS, default="mazur")
    names = parse_names(data, source, arch)
    known = {"layers", "activations", "loss", "learning_rate", "bias", "update_biases", "leaky_slope",
             "weights", "biases", "inputs", "targets", "notation", "names", "title"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise NnexamError(f"{source}: unknown key '{_key(unknown[0])}' (expected one of {', '.join(sorted(known))})")
    return Network(arch, tuple(weights), biases, inputs, targets, lr, notation, names)


def load_spec(path: str | Path) -> Network:
    """Read and check a spec file's keys and values (as parse_spec). The layers above check the rest:
    notation.check_unique_labels the printed names, solve.solve that no value overflows (the
    CLI's solve and check commands do both)."""
    return parse_spec(read_mapping(path), str(path))
