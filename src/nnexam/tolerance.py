"""What a student may write for a step: the one place that defines acceptance (docs/tolerance.md).

A step's exact value is t; a student computes it from their own written earlier values, so the
value they compute lies in the step's *reachable interval* [lo, hi] (solve.reachable_intervals:
every earlier written step off by what rounding or truncating it does, with its sign, propagated
through the formulas). What they may write then depends on the question's tolerance kind:

- "decimals" (d): any value between a reachable value and its rounding or truncation at d
  decimals: [min(lo, round(lo), trunc(lo)), max(hi, round(hi), trunc(hi))]. A step computed from
  givens alone has lo = hi = t: 0.3775 exactly accepts 0.3775 (and 0.37750 ...) and nothing else.
- "abs" (value): within `value` of a reachable value: [lo - value, hi + value].
- "rel" (value): within atol + value·|t| of a reachable value, atol half a unit of the stated
  decimals (PrairieLearn's rule).

Rounding at a half accepts both neighbours (0.12345 -> 0.1234 or 0.1235); truncation is toward
zero. A float slack of 1e-9·max(1, |t|) on each side keeps 1 ulp from failing an exact edge.
"""

from __future__ import annotations

import numpy as np

# Floating-point slack: 0.1235 typed for t = 0.12345 exactly at the edge must not fail on 1 ulp.
_SLACK = 1e-9
# A value within this many units of its last digit from a grid point or a half is on it: 0.3775
# computed as 0.37749999999999995 truncates to 0.3775, not 0.3774 (float error is ~1e-12 units).
_GRID_SLACK = 1e-7


def written_low(v: np.ndarray, decimals: int) -> np.ndarray:
    """The lowest a student writes for the value v at `decimals`: v, its rounding or its truncation."""
    v = np.asarray(v, dtype=float)
    scale = 10.0 ** decimals
    with np.errstate(over="ignore", invalid="ignore"):
        x = v * scale
        rounded = np.floor(x + (0.5 - _GRID_SLACK))  # a half rounds either way
        truncated = np.trunc(x + np.copysign(_GRID_SLACK, x))  # toward zero
        return np.minimum(np.minimum(rounded, truncated) / scale, v)  # inf and NaN pass through


def written_high(v: np.ndarray, decimals: int) -> np.ndarray:
    """The highest a student writes for the value v at `decimals`: v, its rounding or its truncation."""
    v = np.asarray(v, dtype=float)
    scale = 10.0 ** decimals
    with np.errstate(over="ignore", invalid="ignore"):
        x = v * scale
        rounded = np.ceil(x - (0.5 - _GRID_SLACK))
        truncated = np.trunc(x + np.copysign(_GRID_SLACK, x))
        return np.maximum(np.maximum(rounded, truncated) / scale, v)


def rounded(v: np.ndarray, decimals: int) -> np.ndarray:
    """v rounded at `decimals`, a half away from zero (its other neighbour is its truncation); a
    value within float noise of a half is on it. Non-decreasing, so [lo, hi] rounds to [r(lo), r(hi)]."""
    scale = 10.0 ** decimals
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.asarray(v, dtype=float) * scale
        return np.copysign(np.floor(np.abs(x) + (0.5 + _GRID_SLACK)), x) / scale


def truncated(v: np.ndarray, decimals: int) -> np.ndarray:
    """v truncated toward zero at `decimals` (a value within float noise of the grid is on it)."""
    scale = 10.0 ** decimals
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.asarray(v, dtype=float) * scale
        return np.trunc(x + np.copysign(_GRID_SLACK, x)) / scale


def written_interval(lo: np.ndarray, hi: np.ndarray, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    """What a student writes for a value anywhere in [lo, hi]: itself, rounded or truncated (None: kept exactly)."""
    if decimals is None:
        return lo, hi
    return written_low(lo, decimals), written_high(hi, decimals)


def kept_interval(w: np.ndarray, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The values a student may have kept (and gone on from) when they wrote w at `decimals`:
    those whose rounding or truncation is w, and w itself. [w - ½u, w + u] for w > 0."""
    w = np.asarray(w, dtype=float)
    if decimals is None:
        return w, w
    u = 10.0 ** -decimals
    with np.errstate(over="ignore", invalid="ignore"):
        lo = np.where(w > 0, w - 0.5 * u, w - u)
        hi = np.where(w < 0, w + 0.5 * u, w + u)
    return lo, hi


def accepted(kind: str, value: float, decimals: int, target: np.ndarray, lo: np.ndarray, hi: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): the closed interval accepted for a step of exact value `target` and reachable interval [lo, hi]."""
    target = np.asarray(target, dtype=float)
    lo, hi = np.broadcast_to(np.asarray(lo, dtype=float), target.shape), np.broadcast_to(np.asarray(hi, dtype=float), target.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "decimals":
            low, high = written_interval(lo, hi, decimals)
        elif kind == "abs":
            low, high = lo - float(value), hi + float(value)
        elif kind == "rel":
            # value * |t| beyond float64 is an inf width: accepts
            w = 0.5 * 10.0 ** -decimals + float(value) * np.abs(target)
            low, high = lo - w, hi + w
        else:
            raise ValueError(f"unknown tolerance kind {kind!r}")
        slack = _SLACK * np.maximum(1.0, np.abs(target))
        low, high = low - slack, high + slack
    # NaN bounds (a step that is no number) accept nothing; inf bounds accept every finite answer.
    return low, high


def within(submitted: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """True where the submitted value lies in [low, high] (NaN never does)."""
    s = np.asarray(submitted, dtype=float)
    with np.errstate(invalid="ignore"):
        return (s >= low) & (s <= high)


def last_digit_units(submitted: float, target: float, decimals: int) -> int | None:
    """How many units of the last written digit `submitted` is from the nearest value the
    decimals rule accepts for an exact `target` (0 when accepted); None when far (over 9)."""
    scale = 10.0 ** decimals
    low = float(written_low(np.float64(target), decimals))
    high = float(written_high(np.float64(target), decimals))
    x = submitted
    if low - 1e-9 * max(1.0, abs(target)) <= x <= high + 1e-9 * max(1.0, abs(target)):
        return 0
    off = (low - x) if x < low else (x - high)
    units = off * scale
    k = int(np.ceil(units - 1e-6))
    return k if k <= 9 else None
