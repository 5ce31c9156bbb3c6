"""The network diagram as a small SVG image, for LMS quiz text (Moodle and Canvas both show SVG).

Deterministic text: the same variant gives the same bytes. Neurons are circles in evenly spaced
columns; each weight's name and value sit on its edge, staggered along the edges of one sending
neuron so labels of neighbouring edges do not land on one spot; inputs and targets are written
beside their neurons and biases under their layer. The givens table in the question text has
every value too, so the drawing only has to be clear, not dense-proof.
"""

from __future__ import annotations

from typing import Mapping
from xml.sax.saxutils import escape

from ..spec import Architecture

_R = 19  # neuron radius
_DX = 230  # column spacing
_DY = 86  # neuron spacing
_FILL = {"input": "#dbeafd", "hidden": "#fdeed6", "output": "#def5de"}


def _num(x: float) -> str:
    """A coordinate with at most one decimal (stable text)."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


_FRACTIONS = (0.5, 0.36, 0.64, 0.26, 0.74, 0.43, 0.57, 0.3, 0.7, 0.2, 0.8)


def _place(edges, circles) -> list[tuple[float, float, str]]:
    """Each edge's label at the first spot along it (middle first) that overlaps no placed label or
    neuron; when there is none, the spot with the fewest overlaps. Greedy, edge by edge, deterministic."""
    placed: list[tuple[float, float, float, float]] = [(x - _R - 2, y - _R - 2, x + _R + 2, y + _R + 2) for x, y in circles]
    out = []
    for x0, y0, x1, y1, text in edges:
        best = None
        # The name and value; where no spot is free, the name alone (the givens table has the value).
        for label in (text, text.split(" = ")[0]):
            w = 6.6 * len(label) + 6
            for t in _FRACTIONS:
                x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                box = (x - w / 2, y - 10, x + w / 2, y + 7)
                hits = sum(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed)
                if best is None or hits < best[0]:
                    best = (hits, x, y, box, label)
                if hits == 0:
                    break
            if best[0] == 0:
                break
        _, x, y, box, label = best
        placed.append(box)
        out.append((x, y, label))
    return out


def _short(name: str) -> str:
    """A neuron's name short enough for its circle: out_h1 -> h1, net_o2 -> o2, h0 -> h0."""
    return name.rsplit("_", 1)[-1] if "_" in name else name


def diagram_svg(arch: Architecture, names: Mapping[str, str], values: Mapping[str, str]) -> bytes:
    """The diagram of one variant: `names` are printed names (Unicode text), `values` printed given values."""
    cols = len(arch.layers)
    tallest = max(arch.layers)
    width = 150 + _DX * (cols - 1) + 150
    height = 40 + _DY * tallest + (34 if arch.bias != "none" else 0)
    centre: dict[tuple[int, int], tuple[float, float]] = {}
    for l, size in enumerate(arch.layers):
        top = 30 + (_DY * tallest - _DY * size) / 2 + _DY / 2
        for j in range(size):
            centre[l, j + 1] = (150 + _DX * l, top + _DY * j)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    edges = []
    for l in range(1, cols):
        for j in range(1, arch.layers[l] + 1):
            for k in range(1, arch.layers[l - 1] + 1):
                (x0, y0), (x1, y1) = centre[l - 1, k], centre[l, j]
                out.append(f'<line x1="{_num(x0)}" y1="{_num(y0)}" x2="{_num(x1)}" y2="{_num(y1)}" stroke="#777" stroke-width="1.2"/>')
                w = f"w{l}_{j}_{k}"
                edges.append((x0, y0, x1, y1, f"{names[w]} = {values[w]}"))
    labels = _place(edges, list(centre.values()))
    for (l, j), (x, y) in sorted(centre.items()):
        kind = "input" if l == 0 else "output" if l == cols - 1 else "hidden"
        out.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_R}" fill="{_FILL[kind]}" stroke="#333" stroke-width="1.2"/>')
        neuron = f"x_{j}" if l == 0 else f"a{l}_{j}"
        out.append(f'<text x="{_num(x)}" y="{_num(y + 4)}" text-anchor="middle" font-size="11">{escape(_short(names[neuron]))}</text>')
        if l == 0:
            out.append(f'<text x="{_num(x - _R - 6)}" y="{_num(y + 4)}" text-anchor="end">{escape(names[neuron])} = {escape(values[neuron])}</text>')
        if l == cols - 1:
            t = f"t_{j}"
            out.append(f'<text x="{_num(x + _R + 6)}" y="{_num(y + 4)}">{escape(names[t])} = {escape(values[t])}</text>')
    for x, y, text in labels:
        w = 6.6 * len(text) + 6
        out.append(f'<rect x="{_num(x - w / 2)}" y="{_num(y - 9)}" width="{_num(w)}" height="15" rx="3" fill="white" fill-opacity="0.9"/>')
        out.append(f'<text x="{_num(x)}" y="{_num(y + 2.5)}" text-anchor="middle">{escape(text)}</text>')
    if arch.bias != "none":
        y = height - 14
        for l in range(1, cols):
            x = 150 + _DX * l
            bs = [b for b in arch.bias_names() if int(b[1:].split("_")[0]) == l]
            text = ", ".join(f"{names[b]} = {values[b]}" for b in bs)
            out.append(f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="middle" font-size="11" fill="#444">{escape(text)}</text>')
    out.append("</svg>")
    return ("\n".join(out) + "\n").encode("utf-8")
