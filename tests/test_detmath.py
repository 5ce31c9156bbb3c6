"""detmath: platform-independent exp/log/tanh, checked against the math module's correctly rounded values."""

import math

import numpy as np
from hypothesis import given, strategies as st

from nnexam import detmath


@given(st.floats(-700, 700))
def test_exp_matches_math(x):
    assert math.isclose(float(detmath.exp(x)), math.exp(x), rel_tol=4e-16, abs_tol=0.0)


@given(st.floats(1e-300, 1e300))
def test_log_matches_math(x):
    assert math.isclose(float(detmath.log(x)), math.log(x), rel_tol=4e-16, abs_tol=1e-300)


@given(st.floats(-30, 30))
def test_tanh_matches_math(x):
    assert math.isclose(float(detmath.tanh(x)), math.tanh(x), rel_tol=8e-16, abs_tol=1e-300)


def test_edges():
    assert detmath.exp(1000.0) == np.inf and detmath.exp(-1000.0) == 0.0
    assert detmath.log(0.0) == -np.inf and np.isnan(detmath.log(-1.0))
    assert detmath.tanh(0.0) == 0.0 and detmath.tanh(50.0) == 1.0 and detmath.tanh(-50.0) == -1.0
    assert np.isnan(detmath.exp(np.nan)) and np.isnan(detmath.log(np.nan))


def test_golden_bits():
    # Golden bits: computed with +, -, *, / and ldexp/frexp alone, which IEEE 754 rounds the same way
    # on every machine and numpy release; a change here changes the bytes of every stored manifest.
    assert float(detmath.exp(0.3775)).hex() == "0x1.75690059f2d02p+0"
    assert float(detmath.log(0.7514)).hex() == "-0x1.24ad3ff81d4afp-2"
    assert float(detmath.tanh(-1.3)).hex() == "-0x1.b933c726e9b39p-1"
