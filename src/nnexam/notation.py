"""Printed names: the naming styles of the worked examples, for every given and every step.

Styles: "mazur" (seeds/003: i1 -> h1 -> o1, w1 = i1->h1, w2 = i2->h1, net/out, E_total),
"bits" (seeds/001: w1 = i1->h1, w2 = i1->h2, sum/output, E1), and "matrix" (seeds/002: zero-indexed
w_{ljk}, h_pre, h, o, E, mu). A spec's `names` table overrides any printed symbol.

Each name has three spellings: `ascii` (CSV column names and manifest labels, such as dE/dw5),
`text` (plain Unicode for the terminal: ∂E_total/∂w5) and `latex`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .errors import NnexamError
from .graph import StepGraph, build_graph
from .spec import Architecture


@dataclass(frozen=True)
class Label:
    ascii: str
    text: str
    latex: str


def _latex_symbol(name: str) -> str:
    """w5 -> w_{5}; target_o1 -> target_{o1}; b_h1 -> b_{h1}; E_total -> E_{total}."""
    if "_" in name:
        head, _, tail = name.partition("_")
        return f"{head}_{{{tail.replace('_', ',')}}}"
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    return f"{m.group(1)}_{{{m.group(2)}}}" if m else name


@dataclass(frozen=True)
class _Sym:
    """A base symbol in ascii and LaTeX."""

    ascii: str
    latex: str


class Style:
    """Base symbols of one naming style; derived names (derivatives, updates) are built from them."""

    pre_word = "net"
    post_word = "out"
    total_ascii = "E_total"
    total_latex = "E_{total}"
    eta = _Sym("eta", "\\eta")
    eta_text = "η"

    def __init__(self, arch: Architecture):
        self.arch = arch

    def neuron_id(self, l: int, j: int) -> str:
        if l == self.arch.depth:
            return f"o{j}"
        if self.arch.depth == 2:
            return f"h{j}"
        return f"h{l}_{j}"

    def pre(self, l: int, j: int) -> _Sym:
        nid = self.neuron_id(l, j)
        return _Sym(f"{self.pre_word}_{nid}", f"{self.pre_word}_{{{nid.replace('_', ',')}}}")

    def post(self, l: int, j: int) -> _Sym:
        nid = self.neuron_id(l, j)
        return _Sym(f"{self.post_word}_{nid}", f"{self.post_word}_{{{nid.replace('_', ',')}}}")

    def weight_number(self, l: int, j: int, k: int) -> int:
        layers = self.arch.layers
        offset = sum(layers[m] * layers[m - 1] for m in range(1, l))
        return offset + (j - 1) * layers[l - 1] + k

    def weight(self, l: int, j: int, k: int) -> _Sym:
        n = self.weight_number(l, j, k)
        return _Sym(f"w{n}", f"w_{{{n}}}")

    def bias(self, l: int, j: int | None) -> _Sym:
        if j is None:
            return _Sym(f"b{l}", f"b_{{{l}}}")
        nid = self.neuron_id(l, j)
        return _Sym(f"b_{nid}", f"b_{{{nid.replace('_', ',')}}}")

    def input(self, k: int) -> _Sym:
        return _Sym(f"i{k}", f"i_{{{k}}}")

    def target(self, j: int) -> _Sym:
        nid = self.neuron_id(self.arch.depth, j)
        return _Sym(f"target_{nid}", f"target_{{{nid}}}")

    def loss_term(self, j: int) -> _Sym:
        nid = self.neuron_id(self.arch.depth, j)
        return _Sym(f"E_{nid}", f"E_{{{nid}}}")

    def delta_of(self, l: int, j: int) -> _Sym:
        nid = self.neuron_id(l, j).replace("_", ",")
        return _Sym(f"delta_{self.neuron_id(l, j)}", f"\\delta_{{{nid}}}")

    def updated(self, s: _Sym) -> tuple[str, str]:
        """(text, latex) of a value after the update: the prime after the symbol, before its index (w′5, w'_{5})."""
        return _prime_text(s.ascii, "′"), _prime(s.latex, "'")


def _prime_text(name: str, mark: str) -> str:
    """w5 -> w′5, out_o1 -> out′_o1: the mark after the letters of the symbol, as w'_5 is set."""
    m = re.match(r"[A-Za-z]+", name)
    return name[: m.end()] + mark + name[m.end():] if m else name + mark


def _prime(latex: str, mark: str) -> str:
    head, sep, tail = latex.partition("_")
    return f"{head}{mark}{sep}{tail}" if sep else f"{latex}{mark}"


class BitsStyle(Style):
    """seeds/001: first-layer weights numbered input by input (w1 = i1->h1, w2 = i1->h2), sum/output."""

    pre_word = "sum"
    post_word = "output"

    def weight_number(self, l, j, k):
        # The document numbers the first layer input by input (w2 = i1->h2) but the output layer
        # neuron by neuron (w6 = h2->o1); later layers follow the output layer's rule.
        if l > 1:
            return super().weight_number(l, j, k)
        return (k - 1) * self.arch.layers[1] + j

    def target(self, j):
        return _Sym(f"target_{j}", f"target_{{{j}}}")

    def loss_term(self, j):
        return _Sym(f"E{j}", f"E_{{{j}}}")

    def updated(self, s):
        return f"new_{s.ascii}", f"new\\_{s.latex}"


class MatrixStyle(Style):
    """seeds/002: zero-indexed layer-neuron-input subscripts, h_pre/h and o_pre/o, mu."""

    total_ascii = "E"
    total_latex = "E"
    eta = _Sym("mu", "\\mu")
    eta_text = "μ"

    def _letter(self, l: int) -> str:
        if l == self.arch.depth:
            return "o"
        return "h" if self.arch.depth == 2 else f"h{l - 1}"

    def _index(self, l: int, j: int) -> str:
        if l == self.arch.depth and self.arch.layers[-1] == 1:
            return ""
        return str(j - 1)

    def neuron_id(self, l, j):
        return self._letter(l) + self._index(l, j)

    def pre(self, l, j):
        letter, idx = self._letter(l), self._index(l, j)
        latex = f"{letter}_{{\\text{{pre}}{',' + idx if idx else ''}}}"
        return _Sym(f"{letter}_pre{idx}", latex)

    def post(self, l, j):
        letter, idx = self._letter(l), self._index(l, j)
        return _Sym(f"{letter}{idx}", f"{letter}_{{{idx}}}" if idx else letter)

    def weight(self, l, j, k):
        sub = f"{l - 1}{j - 1}{k - 1}"
        return _Sym(f"w{sub}", f"w_{{{sub}}}")

    def bias(self, l, j):
        sub = f"{l - 1}" if j is None else f"{l - 1}{j - 1}"
        return _Sym(f"b{sub}", f"b_{{{sub}}}")

    def input(self, k):
        return _Sym(f"x{k - 1}", f"x_{{{k - 1}}}")

    def target(self, j):
        idx = self._index(self.arch.depth, j)
        return _Sym(f"y{idx}", f"y_{{{idx}}}" if idx else "y")

    def loss_term(self, j):
        return _Sym(f"E{j - 1}", f"E_{{{j - 1}}}")

    def delta_of(self, l, j):
        nid = self.neuron_id(l, j)
        return _Sym(f"delta_{nid}", f"\\delta_{{{nid}}}")

    def updated(self, s):
        return _prime_text(s.ascii, "*"), _prime(s.latex, "^{*}")


STYLES = {"mazur": Style, "bits": BitsStyle, "matrix": MatrixStyle}


def weight_numbers(arch: Architecture, notation: str = "mazur") -> dict[str, tuple[int, int]]:
    """(layer, printed number) of every weight w{l}_{j}_{k}: the order a course lists them in
    (seeds/001 lists w1, w2, w3, w4 though its w2 is i1->h2, not the graph's second weight)."""
    style = STYLES[notation](arch)
    return {f"w{l}_{j}_{k}": (l, style.weight_number(l, j, k))
            for l in range(1, arch.depth + 1) for j in range(1, arch.layers[l] + 1)
            for k in range(1, arch.layers[l - 1] + 1)}


def _frac(num: str, den: str) -> str:
    return f"\\frac{{\\partial {num}}}{{\\partial {den}}}"


def labels(graph: StepGraph, notation: str = "mazur", names: Mapping[str, str] | None = None) -> dict[str, Label]:
    """The printed Label of every given and every step of the graph."""
    arch = graph.arch
    style = STYLES[notation](arch)
    override = {canonical: printed for printed, canonical in (names or {}).items()}

    def sym(canonical: str, default: _Sym) -> _Sym:
        printed = override.get(canonical)
        return _Sym(printed, _latex_symbol(printed)) if printed else default

    base: dict[str, _Sym] = {}
    neuron: dict[tuple[int, int], str] = {}
    for l in range(1, arch.depth + 1):
        for j in range(1, arch.layers[l] + 1):
            if f"a{l}_{j}" in override:
                nid = override[f"a{l}_{j}"]
                base[f"z{l}_{j}"] = _Sym(f"{style.pre_word}_{nid}", f"{style.pre_word}_{{{nid}}}")
                base[f"a{l}_{j}"] = _Sym(nid, _latex_symbol(nid))
            else:
                base[f"z{l}_{j}"], base[f"a{l}_{j}"] = style.pre(l, j), style.post(l, j)
            neuron[l, j] = base[f"a{l}_{j}"].ascii
            for k in range(1, arch.layers[l - 1] + 1):
                base[f"w{l}_{j}_{k}"] = sym(f"w{l}_{j}_{k}", style.weight(l, j, k))
            if arch.bias == "per_neuron":
                base[f"b{l}_{j}"] = sym(f"b{l}_{j}", style.bias(l, j))
        if arch.bias == "shared":
            base[f"b{l}"] = sym(f"b{l}", style.bias(l, None))
    for k in range(1, arch.layers[0] + 1):
        base[f"x_{k}"] = sym(f"x_{k}", style.input(k))
    for j in range(1, arch.layers[-1] + 1):
        base[f"t_{j}"] = sym(f"t_{j}", style.target(j))
        base[f"E_{j}"] = style.loss_term(j)
    E = _Sym(style.total_ascii, style.total_latex)
    base["E"] = E

    out: dict[str, Label] = {name: Label(s.ascii, s.ascii, s.latex) for name, s in base.items()}
    out["eta"] = Label(style.eta.ascii, style.eta_text, style.eta.latex)

    def derivative(num: _Sym, den: _Sym, short_num: str = "E") -> Label:
        return Label(f"d{short_num}/d{den.ascii}", f"∂{num.ascii}/∂{den.ascii}", _frac(num.latex, den.latex))

    for step in graph.steps:
        name, l, j = step.name, step.layer, step.j
        if name in out:
            continue
        if step.kind == "delta":
            s = style.delta_of(l, j) if f"a{l}_{j}" not in override else _Sym(f"delta_{neuron[l, j]}", f"\\delta_{{{neuron[l, j]}}}")
            out[name] = Label(s.ascii, "δ" + s.ascii[len("delta"):], s.latex)
        elif step.kind == "dE_da":
            out[name] = derivative(E, base[f"a{l}_{j}"])
        elif step.kind == "da_dz":
            a, z = base[f"a{l}_{j}"], base[f"z{l}_{j}"]
            out[name] = Label(f"d{a.ascii}/d{z.ascii}", f"∂{a.ascii}/∂{z.ascii}", _frac(a.latex, z.latex))
        elif step.kind in ("dE_dw", "dE_db"):
            out[name] = derivative(E, base[name[len("dE_d"):]])
        elif name.endswith("_new"):
            s = base[name[: -len("_new")]]
            text, latex = style.updated(s)
            out[name] = Label(f"{s.ascii}_new", text, latex)
    return out


def check_unique_labels(arch: Architecture, notation: str, names: Mapping[str, str], source: str) -> None:
    """A spec's `names` (printed -> canonical) must not make one printed name stand for two values
    (w2 for w1_2_1 while w1_1_2 prints as w2): one NnexamError naming the key otherwise."""
    if not names or notation not in STYLES:
        return
    printed_by: dict[str, str] = {}
    for canonical, label in labels(build_graph(arch), notation, names).items():
        other = printed_by.setdefault(label.ascii, canonical)
        if other != canonical:
            printed = next((p for p, c in names.items() if c in (canonical, other)), label.ascii)
            raise NnexamError(
                f"{source}: key 'names.{printed}': '{label.ascii}' would name both {other} and {canonical}; "
                f"name the other one too (such as names = {{ w2 = \"w1_2_1\", w3 = \"w1_1_2\" }})"
            )
