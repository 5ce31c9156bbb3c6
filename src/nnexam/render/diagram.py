"""The network diagram: neurons as circles, every weight written on its edge, biases, inputs, targets.

The geometry depends on the architecture, the printed names and how wide the printed values can
be, never on one student's numbers, so it is computed once per exam (cached) and every student's
sheet only draws it with their values. Weight labels are placed greedily: each edge tries
fractions along its length, nearest the middle first, and takes the first spot whose box
overlaps no placed label, circle or bias label; when a layout does not fit, the font shrinks,
then the diagram grows taller, then labels drop their values (names only; the table of givens
has every value).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from reportlab.lib.colors import Color, white
from reportlab.platypus import Flowable

from ..spec import Architecture
from .typeset import ROMAN, Word, draw_word, plain, word, word_width

RADIUS = 11.0
_FRACTIONS = (0.5, 0.38, 0.62, 0.28, 0.72, 0.44, 0.56, 0.33, 0.67, 0.22, 0.78, 0.18, 0.82)
_PAD = 1.2
_FILL = {"input": Color(0.86, 0.92, 0.99), "hidden": Color(0.99, 0.93, 0.84), "output": Color(0.87, 0.96, 0.87)}
_EDGE = Color(0.45, 0.45, 0.5)
_BIAS_EDGE = Color(0.65, 0.65, 0.7)
ACTIVATION_NAMES = {"sigmoid": "σ (sigmoid)", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU",
                    "linear": "linear", "softmax": "softmax"}

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class EdgeLabel:
    """Where one weight's label sits: the weight, its box (x0, y0, x1, y1) and whether it shows the value."""

    weight: str
    box: Box
    size: float
    with_value: bool


@dataclass(frozen=True)
class Layout:
    """The geometry of one diagram: neuron centres, label boxes, total size."""

    width: float
    height: float
    centres: Mapping[tuple[int, int], tuple[float, float]]  # (layer, neuron) -> (x, y); layer 0 = inputs
    bias_nodes: Mapping[int, tuple[float, float]]  # shared biases: layer -> node centre
    bias_boxes: Mapping[str, Box]
    edges: tuple[EdgeLabel, ...]
    input_x: float
    target_x: float

    def boxes(self) -> list[Box]:
        """Every label box (weights and biases), for overlap checks."""
        return [e.box for e in self.edges] + list(self.bias_boxes.values())


def neuron_name(latex: str) -> str:
    """The name inside a circle: out_{h1} -> h1 (the activation's label without its out/output word)."""
    for word_ in ("out_", "output_"):
        if latex.startswith(word_ + "{") and latex.endswith("}"):
            return latex[len(word_) + 1 : -1]
    return latex


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _free(box: Box, placed: list[Box], bounds: Box) -> bool:
    if box[0] < bounds[0] or box[2] > bounds[2] or box[1] < bounds[1] or box[3] > bounds[3]:
        return False
    return not any(_overlaps(box, p) for p in placed)


@lru_cache(maxsize=32)
def layout(arch: Architecture, latex: tuple[tuple[str, str], ...], value_widths: tuple[tuple[str, float], ...],
           width: float) -> Layout:
    """Place neurons and labels for an architecture; `latex` maps canonical names to printed LaTeX."""
    names = dict(latex)
    vw = dict(value_widths)
    attempts = [(7.2, 1.0, True), (6.4, 1.0, True), (6.4, 1.35, True), (5.6, 1.6, True),
                (6.0, 1.0, False), (5.6, 1.4, False), (5.2, 1.9, False)]
    best = None
    for size, stretch, with_value in attempts:
        result, clashes = _try_layout(arch, names, vw, width, size, stretch, with_value)
        if clashes == 0:
            return result
        if best is None or clashes < best[1]:
            best = (result, clashes)
    return best[0]


def _label_width(names: Mapping[str, str], vw: Mapping[str, float], name: str, size: float, with_value: bool) -> float:
    w = word_width(word(names[name]), size)
    if with_value:
        w += word_width(plain("\u2009=\u2009"), size) + vw.get(name, 0.0) * size
    return w + 2 * _PAD


def _try_layout(arch, names, vw, width, size, stretch, with_value) -> tuple[Layout, int]:
    L, layers = arch.depth, arch.layers
    n_max = max(layers)
    dy = (46.0 if n_max <= 2 else 40.0 if n_max <= 4 else 34.0) * stretch
    input_w = max(vw.get(f"x_{k}", 0.0) * 8.0 for k in range(1, layers[0] + 1)) + 8
    target_w = max(word_width(word(names[f"t_{j}"]), 8.0) + word_width(plain(" = "), 8.0) + vw.get(f"t_{j}", 0) * 8.0
                   for j in range(1, layers[-1] + 1)) + 10
    top_band = 30.0 if arch.bias != "none" else 10.0
    bottom_band = 16.0  # activation names under the columns
    body = (n_max - 1) * dy + 2 * RADIUS
    height = body + top_band + bottom_band
    x_first = input_w + RADIUS
    x_last = width - target_w - RADIUS
    gap = (x_last - x_first) / L
    mid = bottom_band + body / 2
    centres: dict[tuple[int, int], tuple[float, float]] = {}
    for l, n in enumerate(layers):
        for j in range(1, n + 1):
            centres[l, j] = (x_first + l * gap, mid + ((n + 1) / 2 - j) * dy)
    placed: list[Box] = [(x - RADIUS - 1, y - RADIUS - 1, x + RADIUS + 1, y + RADIUS + 1) for x, y in centres.values()]
    bias_nodes: dict[int, tuple[float, float]] = {}
    bias_boxes: dict[str, Box] = {}
    bsize = 7.0
    if arch.bias == "shared":
        for l in range(1, L + 1):
            # The bias node sits above the sending column, between it and the receiving layer.
            x, y = x_first + (l - 0.62) * gap, height - top_band / 2 - 2
            bias_nodes[l] = (x, y)
            r = RADIUS * 0.75
            placed.append((x - r - 1, y - r - 1, x + r + 1, y + r + 1))
            w = _label_width(names, vw, f"b{l}", bsize, True)
            bias_boxes[f"b{l}"] = (x + r + 2, y - 5, x + r + 2 + w, y + 5)
    elif arch.bias == "per_neuron":
        for l in range(1, L + 1):
            for j in range(1, layers[l] + 1):
                x, y = centres[l, j]
                w = _label_width(names, vw, f"b{l}_{j}", bsize, True)
                bias_boxes[f"b{l}_{j}"] = (x - w / 2, y + RADIUS + 1.5, x + w / 2, y + RADIUS + 11)
    placed += list(bias_boxes.values())
    bounds = (0.0, 0.0, width, height)
    edges: list[EdgeLabel] = []
    clashes = 0
    h = size + 2 * _PAD
    for l in range(1, L + 1):
        for k in range(1, layers[l - 1] + 1):
            for j in range(1, layers[l] + 1):
                name = f"w{l}_{j}_{k}"
                (x0, y0), (x1, y1) = centres[l - 1, k], centres[l, j]
                w = _label_width(names, vw, name, size, with_value)
                choice = None
                for f in _FRACTIONS:
                    cx, cy = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
                    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                    if _free(box, placed, bounds):
                        choice = box
                        break
                if choice is None:
                    clashes += 1
                    cx, cy = x0 + 0.5 * (x1 - x0), y0 + 0.5 * (y1 - y0)
                    choice = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                placed.append(choice)
                edges.append(EdgeLabel(name, choice, size, with_value))
    return Layout(width, height, centres, bias_nodes, bias_boxes, tuple(edges), x_first - RADIUS - 4,
                  x_last + RADIUS + 4), clashes


class NetworkDiagram(Flowable):
    """Draws one student's network from a cached Layout and that student's given values."""

    def __init__(self, arch: Architecture, lay: Layout, latex: Mapping[str, str], values: Mapping[str, str]):
        super().__init__()
        self.arch, self.lay, self.latex, self.values = arch, lay, latex, values

    def wrap(self, availWidth, availHeight):
        return self.lay.width, self.lay.height

    def _label(self, name: str, with_value: bool) -> Word:
        w = word(self.latex[name])
        return w + plain("\u2009=\u2009" + self.values[name]) if with_value else w

    def draw(self):
        c, lay, arch = self.canv, self.lay, self.arch
        L = arch.depth
        c.saveState()
        # Edges first, so circles and labels sit on top of them.
        c.setStrokeColor(_BIAS_EDGE)
        c.setLineWidth(0.5)
        c.setDash(2, 2)
        for l, (bx, by) in lay.bias_nodes.items():
            for j in range(1, arch.layers[l] + 1):
                x, y = lay.centres[l, j]
                c.line(bx, by, x, y)
        c.setDash()
        c.setStrokeColor(_EDGE)
        c.setLineWidth(0.6)
        for l in range(1, L + 1):
            for k in range(1, arch.layers[l - 1] + 1):
                x0, y0 = lay.centres[l - 1, k]
                for j in range(1, arch.layers[l] + 1):
                    x1, y1 = lay.centres[l, j]
                    c.line(x0, y0, x1, y1)
        # Inputs on the left, targets on the right.
        for k in range(1, arch.layers[0] + 1):
            x, y = lay.centres[0, k]
            v = plain(self.values[f"x_{k}"])
            draw_word(c, lay.input_x - word_width(v, 8.0), y - 3, v, 8.0)
        for j in range(1, arch.layers[-1] + 1):
            x, y = lay.centres[L, j]
            c.line(x + RADIUS, y, lay.target_x - 2, y)
            draw_word(c, lay.target_x, y - 3, self._label(f"t_{j}", True), 8.0)
        # Circles, with the neuron names inside.
        c.setLineWidth(0.8)
        for (l, j), (x, y) in lay.centres.items():
            kind = "input" if l == 0 else "output" if l == L else "hidden"
            c.setFillColor(_FILL[kind])
            c.circle(x, y, RADIUS, stroke=1, fill=1)
            latex = self.latex[f"x_{j}"] if l == 0 else neuron_name(self.latex[f"a{l}_{j}"])
            w = word(latex)
            size = 8.0 if word_width(w, 8.0) < 2 * RADIUS - 3 else 6.5
            draw_word(c, x - word_width(w, size) / 2, y - size * 0.32, w, size, _INK)
        for l, (x, y) in lay.bias_nodes.items():
            c.setFillColor(Color(0.95, 0.95, 0.95))
            c.circle(x, y, RADIUS * 0.75, stroke=1, fill=1)
            w = plain("+1")
            draw_word(c, x - word_width(w, 6.5) / 2, y - 2.2, w, 6.5, _INK)
        # Activation of every computing layer under its column.
        for l in range(1, L + 1):
            x = lay.centres[l, 1][0]
            w = plain(ACTIVATION_NAMES[arch.activations[l - 1]])
            draw_word(c, x - word_width(w, 6.5) / 2, 3, w, 6.5, _GREY)
        # Labels on white boxes, so edges never run through their text.
        for name, box in lay.bias_boxes.items():
            self._boxed(box, self._label(name, True), 7.0)
        for e in lay.edges:
            self._boxed(e.box, self._label(e.weight, e.with_value), e.size)
        c.restoreState()

    def _boxed(self, box: Box, w: Word, size: float) -> None:
        c = self.canv
        c.setFillColor(white)
        c.rect(box[0], box[1], box[2] - box[0], box[3] - box[1], stroke=0, fill=1)
        x = (box[0] + box[2]) / 2 - word_width(w, size) / 2
        draw_word(c, x, box[1] + _PAD + size * 0.18, w, size, _INK)


_INK = Color(0.1, 0.1, 0.12)
_GREY = Color(0.4, 0.4, 0.45)


def value_width(text: str) -> float:
    """Width of a printed value at font size 1 (layout scales it by the label's size)."""
    return word_width(plain(text, ROMAN), 1.0)
