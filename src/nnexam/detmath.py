"""exp, log and tanh from IEEE-exact operations only, so every machine computes the same bits.

numpy's np.exp and np.log differ in the last bit between releases and between CPUs (SIMD kernels),
which would change the answers stored in a manifest, and so its bytes. Here each function is range
reduction by an exact power of two (np.ldexp, np.frexp) and a fixed polynomial evaluated with +, -,
*, / in a fixed order: IEEE 754 rounds each of those exactly the same way everywhere. Accuracy is
within a few units in the last place over the ranges an exercise uses.
"""

from __future__ import annotations

import numpy as np

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
# 1/n! for the Taylor series of e^r on |r| <= ln2/2 (the 14th term is below 2^-60).
_EXP_COEFFS = tuple(1.0 / float(np.prod(np.arange(1, n + 1, dtype=float))) for n in range(14, -1, -1))
_SQRT_HALF = 0.70710678118654752440


def exp(x) -> np.ndarray:
    """e^x, bit-identical on every platform; overflows to inf and underflows to 0 like np.exp."""
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        clipped = np.clip(x, -745.2, 709.8)
        k = np.round(clipped * _INV_LN2)
        r = (clipped - k * _LN2_HI) - k * _LN2_LO
        p = np.full_like(r, _EXP_COEFFS[0])
        for c in _EXP_COEFFS[1:]:
            p = p * r + c
        out = np.ldexp(p, k.astype(np.int64))
        out = np.where(x > 709.8, np.inf, out)
        out = np.where(x < -745.2, 0.0, out)
        return np.where(np.isnan(x), np.nan, out)


def log(x) -> np.ndarray:
    """ln x, bit-identical on every platform; log 0 = -inf, log of a negative number = nan."""
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        m, e = np.frexp(x)  # x = m * 2^e, m in [0.5, 1): exact
        low = m < _SQRT_HALF
        m = np.where(low, m * 2.0, m)  # now m in [sqrt(1/2), sqrt(2))
        e = np.where(low, e - 1, e).astype(float)
        s = (m - 1.0) / (m + 1.0)  # ln m = 2 atanh(s), |s| <= 0.1716
        s2 = s * s
        p = np.full_like(s, 1.0 / 23.0)
        for n in range(21, 0, -2):
            p = p * s2 + 1.0 / n
        out = 2.0 * s * p + (e * _LN2_HI + e * _LN2_LO)
        out = np.where(x == 0, -np.inf, out)
        out = np.where((x < 0) | np.isnan(x), np.nan, out)
        return np.where(np.isposinf(x), np.inf, out)


def _expm1(x: np.ndarray) -> np.ndarray:
    """e^x - 1 without cancellation near 0 (the Taylor series with its constant term left out)."""
    small = np.abs(x) <= 0.34
    r = np.where(small, x, 0.0)
    p = np.full_like(r, _EXP_COEFFS[0])
    for c in _EXP_COEFFS[1:-1]:  # every 1/n! but the last (1/0! = 1)
        p = p * r + c
    return np.where(small, p * r, exp(x) - 1.0)


def tanh(x) -> np.ndarray:
    """tanh x = -expm1(-2|x|) / (2 + expm1(-2|x|)), with the sign of x: no cancellation near 0."""
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        em = _expm1(-2.0 * np.abs(x))
        return np.copysign(-em / (2.0 + em), x)


def sigmoid(x) -> np.ndarray:
    """1 / (1 + e^-x)."""
    return 1.0 / (1.0 + exp(-np.asarray(x, dtype=float)))
