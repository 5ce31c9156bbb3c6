"""The network diagram: neurons as circles, every weight written on its edge, biases, inputs, targets.

The geometry depends on the architecture, the printed names and how wide the printed values can
be, never on one student's numbers, so it is computed once per exam (cached) and every student's
sheet only draws it with their values. Columns are evenly spaced (no wider than a small network
needs); a layer smaller than the widest spreads out, so its edges fan out. Weight labels are
placed greedily: each edge tries fractions along its length, nearest the middle first, and takes
the first spot whose box overlaps no placed label (keeping a little white space between labels),
circle or bias label, and that no other line runs through (else the least crossed free spot), so
each label reads as belonging to one edge. When a layout does not fit, the font shrinks and the
diagram grows taller, up to the height the page leaves it; then labels drop their values (names
only; the table of givens has every value).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Mapping

import numpy as np
from reportlab.lib.colors import Color, white
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfgen.pathobject import PDFPathObject
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
    clashes: int = 0  # labels that found no free spot (only when nothing else fits)
    squeezed: bool = False  # the last resort: names only, labels closer together than usual

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


# Attempts, most readable first: (label size, vertical stretch, labels with values). See layout().
_ATTEMPTS = ((7.2, 1.0, True), (7.2, 1.3, True), (6.4, 1.0, True), (6.4, 1.35, True), (7.2, 1.7, True),
             (6.4, 1.7, True), (5.6, 1.6, True), (5.6, 2.1, True), (6.0, 1.0, False), (6.0, 1.4, False),
             (5.6, 1.4, False), (5.6, 1.9, False), (5.2, 1.9, False), (5.2, 2.2, False), (5.2, 2.5, False))
MAX_HEIGHT = 560.0  # fits under the header on a Letter page
_GAP_X, _GAP_Y = 3.0, 2.5  # white space kept between two labels, so they never read as one
_CROSSED_OK = 0.2  # labels with values may have this share crossed by another line (dense layers)


@lru_cache(maxsize=32)
def layout(arch: Architecture, latex: tuple[tuple[str, str], ...], value_widths: tuple[tuple[str, float], ...],
           width: float, max_height: float = MAX_HEIGHT) -> Layout:
    """Place neurons and labels for an architecture; `latex` maps canonical names to printed LaTeX.

    Labels with values come first: the first attempt (within `max_height`) whose labels all find
    a free spot wins if no other line crosses them, else the one with the fewest crossings, if
    those are few. Labels drop their values (names only, the table has the values) when no attempt
    with values fits, or when names alone halve the crossings of a dense layout. When nothing fits
    at all, names are squeezed closer (`Layout.squeezed`), overlapping as little as they can.
    """
    names = dict(latex)
    vw = dict(value_widths)
    found = []  # the least crossed fitting layout with values, then without
    for values in (True, False):
        best = None
        for size, stretch, with_value in _ATTEMPTS:
            if with_value != values or (stretch > 1.0 and diagram_height(arch, stretch) > max_height):
                continue
            result = _try_layout(arch, names, vw, width, size, stretch, with_value, True)
            if result is None:
                continue  # some label found no free spot
            lay, crossed = result
            if crossed == 0:
                return lay
            if best is None or crossed < best[0]:
                best = (crossed, lay)
        if best is not None:
            # Values on the edges unless many labels are crossed and names alone would be far clearer.
            if values and best[0] <= _CROSSED_OK * len(best[1].edges):
                return best[1]
            found.append(best)
    if found:
        if len(found) == 2 and found[1][0] < found[0][0] / 2:
            return found[1][1]
        return found[0][1]
    # Nothing fits: names only, as small and as tall as allowed, labels closer together; overlapping
    # as little as that does if even that fails.
    allowed = [a for a in _ATTEMPTS if not a[2] and (a[1] == 1.0 or diagram_height(arch, a[1]) <= max_height)]
    size, stretch, with_value = max(allowed, key=lambda a: (a[1], -a[0]))
    lay = _try_layout(arch, names, vw, width, size, stretch, with_value, False, (1.0, 0.5))[0]
    return replace(lay, squeezed=True)


def _label_width(names: Mapping[str, str], vw: Mapping[str, float], name: str, size: float, with_value: bool) -> float:
    w = word_width(word(names[name]), size)
    if with_value:
        w += word_width(plain("\u2009=\u2009"), size) + vw.get(name, 0.0) * size
    return w + 2 * _PAD


def _dy(arch: Architecture, stretch: float) -> float:
    n_max = max(arch.layers)
    return (46.0 if n_max <= 2 else 40.0 if n_max <= 4 else 34.0) * stretch


def _bands(arch: Architecture) -> tuple[float, float]:
    """Room above the top neurons (shared bias nodes, or per-neuron bias labels) and below (activation names)."""
    return {"shared": 30.0, "per_neuron": 15.0}.get(arch.bias, 6.0), 16.0


def diagram_height(arch: Architecture, stretch: float) -> float:
    top, bottom = _bands(arch)
    return (max(arch.layers) - 1) * _dy(arch, stretch) + 2 * RADIUS + top + bottom


def _crossings(boxes: np.ndarray, seg: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """For each box (rows x0, y0, x1, y1), the weighted count of segments crossing it (Liang-Barsky)."""
    x0, y0 = seg[None, :, 0], seg[None, :, 1]
    dx, dy = seg[None, :, 2] - x0, seg[None, :, 3] - y0
    lo = np.zeros((len(boxes), len(seg)))
    hi = np.ones((len(boxes), len(seg)))
    ok = np.ones((len(boxes), len(seg)), dtype=bool)
    for p, q in ((-dx, x0 - boxes[:, 0:1]), (dx, boxes[:, 2:3] - x0), (-dy, y0 - boxes[:, 1:2]), (dy, boxes[:, 3:4] - y0)):
        p = np.broadcast_to(p, q.shape)
        flat = p == 0
        ok &= ~(flat & (q < 0))
        r = q / np.where(flat, 1.0, p)
        lo = np.where(p < 0, np.maximum(lo, r), lo)
        hi = np.where(p > 0, np.minimum(hi, r), hi)
    return ((ok & (lo < hi)) * weight[None, :]).sum(axis=1)


def _try_layout(arch, names, vw, width, size, stretch, with_value, strict,
                gaps: tuple[float, float] = (_GAP_X, _GAP_Y)) -> tuple[Layout, float] | None:
    """One attempt; None if `strict` and some label has no free spot. Returns the layout and its crossings."""
    L, layers = arch.depth, arch.layers
    n_max = max(layers)
    dy = _dy(arch, stretch)
    input_w = max(vw.get(f"x_{k}", 0.0) * 8.0 for k in range(1, layers[0] + 1)) + 8
    target_w = max(word_width(word(names[f"t_{j}"]), 8.0) + word_width(plain(" = "), 8.0) + vw.get(f"t_{j}", 0) * 8.0
                   for j in range(1, layers[-1] + 1)) + 10
    top_band, bottom_band = _bands(arch)
    body = (n_max - 1) * dy + 2 * RADIUS
    height = body + top_band + bottom_band
    # Columns evenly spaced, but no wider apart than a small network needs (then centred).
    room = width - input_w - target_w - 2 * RADIUS
    gap = min(room / L, 120.0 + 45.0 * n_max)
    x_first = input_w + RADIUS + (room - L * gap) / 2
    x_last = x_first + L * gap
    mid = bottom_band + body / 2
    centres: dict[tuple[int, int], tuple[float, float]] = {}
    for l, n in enumerate(layers):
        # A layer smaller than the widest spreads out (up to twice the spacing), so its edges fan out.
        step = min((n_max - 1) * dy / (n - 1), 2 * dy) if n > 1 else dy
        for j in range(1, n + 1):
            centres[l, j] = (x_first + l * gap, mid + ((n + 1) / 2 - j) * step)
    placed: list[Box] = [(x - RADIUS - 1, y - RADIUS - 1, x + RADIUS + 1, y + RADIUS + 1) for x, y in centres.values()]
    segments: list[tuple[float, ...]] = []
    weights: list[float] = []  # how much a line through a label counts: weights 1, bias and target lines 1/2
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
            for j in range(1, layers[l] + 1):
                segments.append((x, y) + centres[l, j])
                weights.append(0.5)
    elif arch.bias == "per_neuron":
        for l in range(1, L + 1):
            for j in range(1, layers[l] + 1):
                x, y = centres[l, j]
                w = _label_width(names, vw, f"b{l}_{j}", bsize, True)
                bias_boxes[f"b{l}_{j}"] = (x - w / 2, y + RADIUS + 1.5, x + w / 2, y + RADIUS + 11)
    placed += list(bias_boxes.values())
    placed += [(centres[l, 1][0] - 22, 0.0, centres[l, 1][0] + 22, bottom_band - 4) for l in range(1, L + 1)]
    for j in range(1, layers[-1] + 1):
        x, y = centres[L, j]
        segments.append((x + RADIUS, y, x_last + RADIUS + 2, y))
        weights.append(0.5)
    order = [(l, k, j) for l in range(1, L + 1) for k in range(1, layers[l - 1] + 1) for j in range(1, layers[l] + 1)]
    first_edge = len(segments)
    segments += [centres[l - 1, k] + centres[l, j] for l, k, j in order]
    weights += [1.0] * len(order)
    seg, wt = np.array(segments, dtype=float), np.array(weights, dtype=float)
    boxes = np.zeros((len(placed) + len(order), 4))
    boxes[:len(placed)] = placed
    n_placed = len(placed)
    fr = np.array(_FRACTIONS)
    edges: list[EdgeLabel] = []
    crossed, clashes = 0.0, 0
    h = size + 2 * _PAD
    for i, (l, k, j) in enumerate(order):
        name = f"w{l}_{j}_{k}"
        (x0, y0), (x1, y1) = centres[l - 1, k], centres[l, j]
        w = _label_width(names, vw, name, size, with_value)
        cx, cy = x0 + fr * (x1 - x0), y0 + fr * (y1 - y0)
        cand = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        p = boxes[:n_placed]
        hit = ((cand[:, None, 0] < p[None, :, 2]) & (p[None, :, 0] < cand[:, None, 2])
               & (cand[:, None, 1] < p[None, :, 3]) & (p[None, :, 1] < cand[:, None, 3])).any(axis=1)
        free = ~hit & (cand[:, 0] >= 0) & (cand[:, 2] <= width) & (cand[:, 1] >= 0) & (cand[:, 3] <= height)
        if free.any():
            wt[first_edge + i] = 0.0  # its own edge does not count
            score = np.where(free, _crossings(cand, seg, wt), np.inf)
            wt[first_edge + i] = 1.0
            best = int(np.argmin(score))  # the first of the least crossed, in _FRACTIONS order
            crossed += float(score[best])
        elif strict:
            return None
        else:
            best, clashes = 0, clashes + 1
        choice = tuple(float(v) for v in cand[best])
        boxes[n_placed] = (choice[0] - gaps[0], choice[1] - gaps[1], choice[2] + gaps[0], choice[3] + gaps[1])
        n_placed += 1
        edges.append(EdgeLabel(name, choice, size, with_value))
    lay = Layout(width, height, centres, bias_nodes, bias_boxes, tuple(edges), x_first - RADIUS - 4, x_last + RADIUS + 4,
                 clashes)
    return lay, crossed


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
        c._code.append(_segments(tuple((bx, by, *lay.centres[l, j]) for l, (bx, by) in lay.bias_nodes.items()
                                       for j in range(1, arch.layers[l] + 1))))
        c.setDash()
        c.setStrokeColor(_EDGE)
        c.setLineWidth(0.6)
        c._code.append(_segments(tuple((*lay.centres[l - 1, k], *lay.centres[l, j]) for l in range(1, L + 1)
                                       for k in range(1, arch.layers[l - 1] + 1) for j in range(1, arch.layers[l] + 1))))
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
            c._code.append(_circle(x, y, RADIUS))
            latex = self.latex[f"x_{j}"] if l == 0 else neuron_name(self.latex[f"a{l}_{j}"])
            w = word(latex)
            size = 8.0 if word_width(w, 8.0) < 2 * RADIUS - 3 else 6.5
            draw_word(c, x - word_width(w, size) / 2, y - size * 0.32, w, size, _INK)
        for l, (x, y) in lay.bias_nodes.items():
            c.setFillColor(Color(0.95, 0.95, 0.95))
            c._code.append(_circle(x, y, RADIUS * 0.75))
            w = plain("+1")
            draw_word(c, x - word_width(w, 6.5) / 2, y - 2.2, w, 6.5, _INK)
        # Activation of every computing layer under its column.
        for l in range(1, L + 1):
            x = lay.centres[l, 1][0]
            name = ACTIVATION_NAMES[arch.activations[l - 1]]
            # σ is a math symbol (italic, as in the formulas), the rest of the caption prose.
            w = word(r"\sigma") + plain(name[1:]) if name.startswith("σ") else plain(name)
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


# The same network is drawn for every student: its strokes are formatted once.
@lru_cache(maxsize=256)
def _segments(coords: tuple) -> str:
    """Straight segments (x0, y0, x1, y1) as one stroked path."""
    return "n " + " ".join(f"{fp_str(x0, y0)} m {fp_str(x1, y1)} l" for x0, y0, x1, y1 in coords) + " S"


@lru_cache(maxsize=1024)
def _circle(x: float, y: float, r: float) -> str:
    """A filled and stroked circle, as canvas.circle draws it."""
    path = PDFPathObject()
    path.circle(x, y, r)
    return f"{path.getCode()} B"
