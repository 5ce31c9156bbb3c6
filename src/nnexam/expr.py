"""Formula expressions: one tree both evaluates a step (vectorized over variants) and prints it.

Because the printed formula and the computed value come from the same tree, a worked solution can
never show one formula and compute another. Each node evaluates on an environment mapping symbol
names to arrays with a leading variant axis, and renders as plain text or LaTeX, either with symbol
names or with the numbers substituted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from . import detmath

# Render context: `style` is "text" or "latex"; `lookup(name)` gives the symbol's label or number.
Lookup = Callable[[str], str]

_ATOM, _POW, _PROD, _SUM = 4, 3, 2, 1


def _wrap(s: str, style: str) -> str:
    return f"\\left({s}\\right)" if style == "latex" else f"({s})"


def _needs_sign_parens(s: str) -> bool:
    return s.startswith("-") or s.startswith("−")


class Expr:
    """A formula node."""

    prec = _ATOM

    def evaluate(self, env: Mapping[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def interval(self, env: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) bounds of the value when each symbol lies anywhere in its (low, high) of `env`.

        Plain interval arithmetic: rigorous, and exact for a formula that reads each symbol once
        (a symbol read twice, as in a·(1 − a), is treated as two independent ones; solve.py splits
        such symbols' intervals to tighten it).
        """
        raise NotImplementedError

    def symbols(self) -> tuple[str, ...]:
        """Names this formula reads, in first-use order."""
        seen: dict[str, None] = {}
        self._collect(seen)
        return tuple(seen)

    def _collect(self, seen: dict[str, None]) -> None:
        for child in self.children():
            child._collect(seen)

    def children(self) -> tuple[Expr, ...]:
        return ()

    def render(self, style: str, lookup: Lookup, numeric: bool = False) -> str:
        raise NotImplementedError

    def _child(self, child: Expr, min_prec: int, style: str, lookup: Lookup, numeric: bool) -> str:
        s = child.render(style, lookup, numeric)
        if child.prec < min_prec:
            return _wrap(s, style)
        return s


@dataclass(frozen=True, eq=False)
class Sym(Expr):
    """A named value: a given (w1_1_1, x_1) or an earlier step (a1_1)."""

    name: str

    def evaluate(self, env):
        return env[self.name]

    def interval(self, env):
        return env[self.name]

    def _collect(self, seen):
        seen[self.name] = None

    def render(self, style, lookup, numeric=False):
        return lookup(self.name)


@dataclass(frozen=True, eq=False)
class Const(Expr):
    """A number printed as itself (1, 2) or with a chosen spelling (½ as \\frac{1}{2})."""

    value: float
    text: str = ""
    latex: str = ""

    def evaluate(self, env):
        return np.float64(self.value)

    def interval(self, env):
        v = np.float64(self.value)
        return v, v  # one object: a point (see _corners)

    def render(self, style, lookup, numeric=False):
        if style == "latex" and self.latex:
            return self.latex
        return self.text or f"{self.value:g}"


@dataclass(frozen=True, eq=False)
class Add(Expr):
    """A sum of terms; a term may be a Neg, printed as a subtraction."""

    terms: tuple[Expr, ...]
    prec = _SUM

    def evaluate(self, env):
        total = self.terms[0].evaluate(env)
        for term in self.terms[1:]:
            total = total + term.evaluate(env)
        return total

    def interval(self, env):
        lo, hi = self.terms[0].interval(env)
        for term in self.terms[1:]:
            a, b = term.interval(env)
            lo, hi = lo + a, hi + b
        return lo, hi

    def children(self):
        return self.terms

    def render(self, style, lookup, numeric=False):
        parts = []
        for i, term in enumerate(self.terms):
            if isinstance(term, Neg) and i > 0:
                parts.append(" - " + self._child(term.arg, _PROD, style, lookup, numeric))
                continue
            s = self._child(term, _SUM, style, lookup, numeric)
            if i > 0 and _needs_sign_parens(s):
                parts.append(" - " + s[1:])  # a + (-1.2 · 0.2) is printed a - 1.2 · 0.2
                continue
            parts.append((" + " if i else "") + s)
        return "".join(parts)


@dataclass(frozen=True, eq=False)
class Sub(Expr):
    left: Expr
    right: Expr
    prec = _SUM

    def evaluate(self, env):
        return self.left.evaluate(env) - self.right.evaluate(env)

    def interval(self, env):
        (a, b), (c, d) = self.left.interval(env), self.right.interval(env)
        return a - d, b - c

    def children(self):
        return (self.left, self.right)

    def render(self, style, lookup, numeric=False):
        left = self._child(self.left, _SUM, style, lookup, numeric)
        right = self._child(self.right, _PROD, style, lookup, numeric)
        if _needs_sign_parens(right):
            return f"{left} + {right[1:]}"  # a - (-b) is printed a + b
        return f"{left} - {right}"


@dataclass(frozen=True, eq=False)
class Neg(Expr):
    arg: Expr
    prec = _SUM

    def evaluate(self, env):
        return -self.arg.evaluate(env)

    def interval(self, env):
        lo, hi = self.arg.interval(env)
        return -hi, -lo

    def children(self):
        return (self.arg,)

    def render(self, style, lookup, numeric=False):
        s = self._child(self.arg, _PROD, style, lookup, numeric)
        if _needs_sign_parens(s):
            s = _wrap(s, style)
        return "-" + s


@dataclass(frozen=True, eq=False)
class Mul(Expr):
    factors: tuple[Expr, ...]
    prec = _PROD

    def evaluate(self, env):
        total = self.factors[0].evaluate(env)
        for f in self.factors[1:]:
            total = total * f.evaluate(env)
        return total

    def interval(self, env):
        lo, hi = self.factors[0].interval(env)
        for f in self.factors[1:]:
            lo, hi = _hull(*_corners(lo, hi, *f.interval(env), _times))
        return lo, hi

    def children(self):
        return self.factors

    def render(self, style, lookup, numeric=False):
        dot = " \\cdot " if style == "latex" else " · "
        parts = []
        for i, f in enumerate(self.factors):
            s = self._child(f, _POW if isinstance(f, Mul) else _PROD + 1, style, lookup, numeric)
            if i > 0 and _needs_sign_parens(s):
                s = _wrap(s, style)
            parts.append(s)
        return dot.join(parts)


@dataclass(frozen=True, eq=False)
class Div(Expr):
    num: Expr
    den: Expr
    prec = _PROD

    def evaluate(self, env):
        return self.num.evaluate(env) / self.den.evaluate(env)

    def interval(self, env):
        (a, b), (c, d) = self.num.interval(env), self.den.interval(env)
        lo, hi = _hull(*_corners(a, b, c, d, np.divide))
        through_zero = (c <= 0) & (d >= 0)  # a denominator that can be 0: no bound
        return np.where(through_zero, -np.inf, lo), np.where(through_zero, np.inf, hi)

    def children(self):
        return (self.num, self.den)

    def render(self, style, lookup, numeric=False):
        if style == "latex":
            return f"\\frac{{{self.num.render(style, lookup, numeric)}}}{{{self.den.render(style, lookup, numeric)}}}"
        num = self._child(self.num, _POW, style, lookup, numeric)
        den = self._child(self.den, _POW, style, lookup, numeric)
        return f"{num}/{den}"


@dataclass(frozen=True, eq=False)
class Square(Expr):
    arg: Expr
    prec = _POW

    def evaluate(self, env):
        v = self.arg.evaluate(env)
        return v * v

    def interval(self, env):
        lo, hi = self.arg.interval(env)
        top = np.maximum(lo * lo, hi * hi)
        bottom = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(lo * lo, hi * hi))  # the minimum at 0
        return bottom, top

    def children(self):
        return (self.arg,)

    def render(self, style, lookup, numeric=False):
        s = self._child(self.arg, _ATOM, style, lookup, numeric)
        if _needs_sign_parens(s) and not s.startswith(("(", "\\left(")):
            s = _wrap(s, style)
        return f"{s}^{{2}}" if style == "latex" else f"{s}²"


def _corners(a, b, c, d, op):
    """op on the corners of [a, b] x [c, d], in the order (a, c), (a, d), (b, c), (b, d).

    A point (a is b, as a given is) has one end: its repeated corners cannot change the hull.
    """
    left, right = (a,) if a is b else (a, b), (c,) if c is d else (c, d)
    return tuple(op(x, y) for x in left for y in right)


def _times(a, b):
    """a · b, with an exact 0 times anything 0 (0 · ln 0 is 0 on paper)."""
    return np.where((a == 0) | (b == 0), 0.0, a * b)


def _hull(*values):
    """(min, max) over arrays; NaN (0 · inf, say) widens to no bound."""
    lo, hi = values[0], values[0]
    for v in values[1:]:  # pairwise, in order: the bits np.min over the stacked corners gives
        lo, hi = np.minimum(lo, v), np.maximum(hi, v)
    bad = np.isnan(lo) | np.isnan(hi)
    return np.where(bad, -np.inf, lo), np.where(bad, np.inf, hi)


def _sigmoid(v):
    return 1.0 / (1.0 + detmath.exp(-v))


# name: (evaluate, text name, latex name, slope-aware)
_FUNCTIONS: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], str, str]] = {
    "sigmoid": (lambda v, s: _sigmoid(v), "σ", "\\sigma"),
    # A common slip: the sign in the exponent dropped; printed as what the student wrote.
    "sigmoid_wrong_sign": (lambda v, s: 1.0 / (1.0 + detmath.exp(v)), "σ̃", "\\tilde{\\sigma}"),
    "tanh": (lambda v, s: detmath.tanh(v), "tanh", "\\tanh"),
    "relu": (lambda v, s: np.maximum(v, 0.0), "relu", "\\operatorname{relu}"),
    "leaky_relu": (lambda v, s: np.where(v > 0, v, s * v), "lrelu", "\\operatorname{lrelu}"),
    # Derivatives of the piecewise activations, as functions of the pre-activation (0 at 0).
    "relu_prime": (lambda v, s: np.where(v > 0, 1.0, 0.0), "relu'", "\\operatorname{relu}'"),
    "leaky_relu_prime": (lambda v, s: np.where(v > 0, 1.0, s), "lrelu'", "\\operatorname{lrelu}'"),
    "exp": (lambda v, s: detmath.exp(v), "exp", "\\exp"),
    "ln": (lambda v, s: detmath.log(v), "ln", "\\ln"),
}


@dataclass(frozen=True, eq=False)
class Func(Expr):
    """An activation or elementary function applied to one argument."""

    name: str
    arg: Expr
    slope: float = 0.0

    def evaluate(self, env):
        return _FUNCTIONS[self.name][0](np.asarray(self.arg.evaluate(env), dtype=float), self.slope)

    def interval(self, env):
        lo, hi = self.arg.interval(env)
        f = _FUNCTIONS[self.name][0]
        a, b = f(np.asarray(lo, dtype=float), self.slope), f(np.asarray(hi, dtype=float), self.slope)
        if self.name == "sigmoid_wrong_sign":
            return b, a  # decreasing
        if self.name == "ln":
            a = np.where(lo <= 0, -np.inf, a)  # ln reaches -inf as its argument reaches 0
        return a, b  # every other function is non-decreasing (leaky slopes lie in [0, 1])

    def children(self):
        return (self.arg,)

    def render(self, style, lookup, numeric=False):
        inner = self.arg.render(style, lookup, numeric)
        if numeric and self.name in ("sigmoid", "sigmoid_wrong_sign"):
            # The seeds substitute the logistic function written out: 1/(1+e^{-0.3775}).
            sign = "-" if self.name == "sigmoid" else ""
            if sign and _needs_sign_parens(inner):
                inner, sign = inner[1:], ""  # e^{-(-0.34)} is printed e^{0.34}
            if style == "latex":
                return f"\\frac{{1}}{{1 + e^{{{sign}{inner}}}}}"
            return f"1/(1 + e^({sign}{inner}))"
        if self.name == "exp":
            return f"e^{{{inner}}}" if style == "latex" else f"e^({inner})"
        name = _FUNCTIONS[self.name][2 if style == "latex" else 1]
        return f"{name}{_wrap(inner, style)}"


def add(*terms: Expr) -> Expr:
    return terms[0] if len(terms) == 1 else Add(tuple(terms))


def mul(*factors: Expr) -> Expr:
    return factors[0] if len(factors) == 1 else Mul(tuple(factors))


ONE = Const(1.0)
HALF = Const(0.5, "½", "\\frac{1}{2}")
