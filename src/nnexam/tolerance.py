"""Accepting an answer: the question's tolerance plus the rounding band of the step.

Kinds, as the manifest records them: "abs" accepts |s - t| <= value; "rel" accepts
|s - t| <= atol + value * |t| (PrairieLearn's rule) with atol = half a unit of the stated decimals;
"decimals" accepts s that is t rounded or truncated at the stated decimals d: |s - t| < 10^-d.
On top of that, `band` is how far rounding (or truncating) every earlier step at its stated
decimals can move the value (solve.rounding_bands), so a student who rounds as the seeds do loses
nothing.
"""

from __future__ import annotations

import numpy as np

# Floating-point slack: 0.1235 typed for t = 0.12345 exactly at the edge must not fail on 1 ulp.
_SLACK = 1e-9


def tolerance_width(kind: str, value: float, decimals: int, target: np.ndarray) -> np.ndarray:
    """The half-width the tolerance allows around each target."""
    target = np.asarray(target, dtype=float)
    if kind == "abs":
        return np.full(target.shape, float(value))
    if kind == "rel":
        with np.errstate(over="ignore"):  # value * |t| beyond float64 is an inf width: accepts
            return 0.5 * 10.0 ** -decimals + float(value) * np.abs(target)
    if kind == "decimals":
        return np.full(target.shape, 10.0 ** -decimals)
    raise ValueError(f"unknown tolerance kind {kind!r}")


def accept_width(kind: str, value: float, decimals: int, target: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Total accepted half-width: tolerance plus rounding band, plus float slack."""
    target = np.asarray(target, dtype=float)
    # Near the float64 limit a width can overflow to inf: an inf width accepts every finite answer.
    with np.errstate(over="ignore"):
        return (tolerance_width(kind, value, decimals, target) + np.asarray(band, dtype=float)
                + _SLACK * np.maximum(1.0, np.abs(target)))


def accepts(submitted: np.ndarray, target: np.ndarray, width: np.ndarray) -> np.ndarray:
    """True where the submitted value lies within `width` of the target (NaN never does)."""
    # 1e308 typed for -1e308 differs by inf: further than any finite width, so rejected, as it should be.
    with np.errstate(over="ignore", invalid="ignore"):
        return np.abs(np.asarray(submitted, dtype=float) - np.asarray(target, dtype=float)) <= width
