"""The fast paths of marking give the bits the plain formulation gives (benchmarks/equivalence.py
checks whole grading outputs on 29,000 students; this is its small, always-run part)."""

import csv
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest

from nnexam import expr
from nnexam.bank import load_bank
from nnexam.generate import class_ids, generate
from nnexam.grade import grade, read_submissions

_spec = importlib.util.spec_from_file_location(
    "equivalence", Path(__file__).resolve().parent.parent / "benchmarks" / "equivalence.py")
equivalence = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(equivalence)


def _plain_corners(a, b, c, d, op):
    """All four corners, as interval arithmetic is written on paper."""
    return op(a, c), op(a, d), op(b, c), op(b, d)


def _plain_hull(*values):
    stack = np.broadcast_arrays(*values)
    lo, hi = np.min(stack, axis=0), np.max(stack, axis=0)
    bad = np.isnan(lo) | np.isnan(hi)
    return np.where(bad, -np.inf, lo), np.where(bad, np.inf, hi)


def _same_bits(x, y) -> bool:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return x.shape == y.shape and np.array_equal(x.view(np.int64), y.view(np.int64))


@pytest.mark.parametrize("op", [expr._times, np.divide])
def test_hull_of_distinct_corners_is_the_hull_of_all_four(op):
    rng = np.random.default_rng(7)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e-300, 2.5])
    cols = [np.concatenate([rng.normal(0, 2, 500), rng.choice(special, 500)]) for _ in range(4)]
    a, b, c, d = (rng.permutation(v) for v in cols)
    with np.errstate(all="ignore"):
        for left in ((a, a), (a, b)):  # a point (one object) and an interval
            for right in ((c, c), (c, d), (np.float64(0.5),) * 2):
                fast = expr._hull(*expr._corners(*left, *right, op))
                plain = _plain_hull(*_plain_corners(*left, *right, op))
                assert _same_bits(fast[0], plain[0]) and _same_bits(fast[1], plain[1])


@pytest.mark.parametrize("bank", ["classic", "bce-2-2-1", "softmax-2-3-2"])
def test_grading_a_messy_class_is_unchanged_by_the_fast_interval_paths(bank, monkeypatch):
    manifest = generate(load_bank(bank), "equivalence", class_ids(400))
    buf = io.StringIO()
    csv.writer(buf).writerows(equivalence.messy_rows(manifest))
    subs = read_submissions(buf.getvalue().encode(), manifest)
    fast = grade(manifest, subs)
    monkeypatch.setattr(expr, "_corners", _plain_corners)
    monkeypatch.setattr(expr, "_hull", _plain_hull)
    monkeypatch.setattr(expr.Const, "interval", lambda self, env: (np.float64(self.value), np.float64(self.value)))
    plain = grade(manifest, subs)
    for field in ("expected", "own", "points", "verdict", "mistake"):
        assert _same_bits(getattr(fast, field).astype(float), getattr(plain, field).astype(float)), field
    assert [m.title for m in fast.mistakes] == [m.title for m in plain.mistakes]
    # The class has every verdict and both kinds of diagnosis, so the comparison covers them.
    assert len(np.unique(fast.verdict[fast.verdict >= 0])) == 6
    likely = [fast.mistakes[k].likely for k in fast.mistake[fast.mistake >= 0].tolist()]
    assert any(likely) and not all(likely)
