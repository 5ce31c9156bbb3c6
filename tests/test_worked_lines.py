"""Keys a reader can verify: every printed worked line is true at its printed precision.

The lines are read back from the text a reader sees (`nnexam solve --steps`, `--format latex`, the
key PDF), parsed into numbers and operators by a small parser written here, independent of
expr.py, and re-evaluated: the formula on the printed operands must give the printed result
within half a unit of its last digit. Every operand must be a given or an earlier printed result
(the chain goes on from what is shown), and a result noted "(exact X)" must be where the answer
table's exact value X differs.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnexam.bank import bundled_banks, load_bank
from nnexam.cli import cli
from nnexam.generate import class_ids, generate
from nnexam.graph import build_graph
from nnexam.notation import labels
from nnexam.present import answer_table, worked_latex, worked_text, worked_values
from nnexam.solve import evaluate
from nnexam.spec import Architecture

STUDENTS = 50
BANKS = [name for name, _ in bundled_banks()]


# --- an independent reader of printed arithmetic ---------------------------------------------

_TOKEN = re.compile(r"\s*(\d+\.\d+|\d+|relu'|lrelu'|relu|lrelu|tanh|ln|e\^\(|[-+·/()²½])")


def _tokens(s: str) -> list[str]:
    out, i = [], 0
    s = s.strip()
    while i < len(s):
        m = _TOKEN.match(s, i)
        if not m:
            raise _Unreadable(f"cannot read {s[i:]!r} in {s!r}")
        out.append(m.group(1))
        i = m.end()
    return out


class _Unreadable(Exception):
    """Text that is not printed arithmetic (a formula of names)."""


class _Reader:
    """Recursive descent over: sums, products and quotients, unary minus, ², e^(…), functions."""

    FUNCS = {
        "tanh": math.tanh,
        "ln": math.log,
        "relu": lambda v, s: max(v, 0.0),
        "relu'": lambda v, s: 1.0 if v > 0 else 0.0,
        "lrelu": lambda v, s: v if v > 0 else s * v,
        "lrelu'": lambda v, s: 1.0 if v > 0 else s,
    }

    def __init__(self, text: str, slope: float):
        self.t, self.i, self.slope = _tokens(text), 0, slope

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, want=None):
        tok = self.peek()
        if want is not None and tok != want:
            raise _Unreadable(f"expected {want!r}, got {tok!r} in {' '.join(self.t)}")
        self.i += 1
        return tok

    def value(self) -> float:
        v = self.sum()
        if self.peek() is not None:
            raise _Unreadable(f"left over: {self.t[self.i:]}")
        return v

    def sum(self) -> float:
        v = self.product()
        while self.peek() in ("+", "-"):
            v = v + self.product() if self.take() == "+" else v - self.product()
        return v

    def product(self) -> float:
        v = self.unary()
        while self.peek() in ("·", "/"):
            v = v * self.unary() if self.take() == "·" else v / self.unary()
        return v

    def unary(self) -> float:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        v = self.atom()
        while self.peek() == "²":
            self.take()
            v = v * v
        return v

    def atom(self) -> float:
        tok = self.take()
        if tok == "(":
            v = self.sum()
            self.take(")")
            return v
        if tok == "e^(":
            v = self.sum()
            self.take(")")
            return math.exp(v)
        if tok == "½":
            return 0.5
        if tok in self.FUNCS:
            self.take("(")
            v = self.sum()
            self.take(")")
            f = self.FUNCS[tok]
            return f(v) if tok in ("tanh", "ln") else f(v, self.slope)
        if tok is None or not tok[0].isdigit():
            raise _Unreadable(f"expected a number, got {tok!r}")
        return float(tok)


def _latex_to_text(s: str) -> str:
    """The LaTeX of a worked line in the text grammar above (fractions bracketed, \\cdot as ·)."""
    out, i = [], 0
    while i < len(s):
        if s.startswith("\\frac", i):
            num, i = _brace(s, i + 5)
            den, i = _brace(s, i)
            out.append(f"(({_latex_to_text(num)})/({_latex_to_text(den)}))")
        elif s.startswith("^{", i):
            body, i = _brace(s, i + 1)
            if out and out[-1].endswith("e") and body != "2":
                out[-1] = out[-1][:-1]
                out.append(f"e^({_latex_to_text(body)})")
            else:
                out.append("²" if body == "2" else "^{" + body + "}")  # a name's superscript does not read as a number
        else:
            for latex, text in (("\\left(", "("), ("\\right)", ")"), ("\\cdot", "·"), ("\\tanh", "tanh"),
                                ("\\ln", "ln"), ("\\operatorname{relu}", "relu"), ("\\operatorname{lrelu}", "lrelu")):
                if s.startswith(latex, i):
                    out.append(text)
                    i += len(latex)
                    break
            else:
                out.append(s[i])
                i += 1
    return "".join(out)


def _brace(s: str, i: int) -> tuple[str, int]:
    assert s[i] == "{", s[i:]
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return s[i + 1:j], j + 1
    raise ValueError(s)


def _numeric(s: str, slope: float) -> float | None:
    """The value of printed arithmetic, or None when the text names symbols (a formula, not numbers)."""
    try:
        return _Reader(s, slope).value()
    except _Unreadable:
        return None
    except (ZeroDivisionError, ValueError, OverflowError):  # ln 0, a division by 0: no number
        return math.nan


def _decimals_of(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


_EXACT_TEXT = re.compile(r" \(exact (-?\d+(?:\.\d+)?)\)$")
_EXACT_LATEX = re.compile(r" \\quad \(\\text\{exact \} \{(-?\d+(?:\.\d+)?)\}\)$")


def check_lines(lines: list[tuple[str, str | None]], slope: float, given_numbers: set[str]) -> tuple[int, list[str]]:
    """Re-evaluate worked lines given as (the line's ' = '-joined parts, its exact note or None).

    Returns how many lines were re-evaluated and the failures, each as a sentence."""
    failures, checked = [], 0
    shown = {n.lstrip("-") for n in given_numbers}
    results: set[str] = set()
    for line, _ in lines:
        parts = line.split(" = ")
        result = parts[-1]
        r = float(result)
        half = 0.5 * 10.0 ** -_decimals_of(result)
        numbers = [_numeric(p, slope) for p in parts[1:-1]]
        if numbers[-1] is not None:
            checked += 1
            v = numbers[-1]
            if not abs(v - r) <= half * (1 + 1e-9) + 1e-12:
                failures.append(f"{line}: the numbers give {v!r}")
            operands = set(re.findall(r"\d+\.\d+|\d+", parts[-2]))
            unknown = {o for o in operands if o not in shown and not (o.isdigit() and int(o) <= 10)}
            if unknown:
                failures.append(f"{line}: {sorted(unknown)} is neither a given nor a result printed above")
        elif len(parts) == 3:
            # "δ_o1 = ∂E/∂out_o1 = 0.7414": a value carried over, so an earlier line printed it.
            checked += 1
            if result not in results:
                failures.append(f"{line}: carries over a value no earlier line printed")
        shown.add(result.lstrip("-"))
        results.add(result)
    return checked, failures


def text_lines(out: str) -> list[tuple[str, str | None]]:
    """The worked lines of `nnexam solve --steps` output (chain rule lines are symbolic only)."""
    lines = []
    for raw in out.splitlines():
        if raw.startswith("  ") and not raw.startswith("  chain rule:"):
            m = _EXACT_TEXT.search(raw)
            lines.append((raw[2:m.start()] if m else raw[2:], m.group(1) if m else None))
    return lines


def latex_lines(out: str) -> list[tuple[str, str | None]]:
    """The worked lines of `--format latex`, in the text grammar (without the symbolic chain rule rows)."""
    lines = []
    for raw in out.splitlines():
        row = raw.strip().removesuffix("\\\\").strip()
        if not raw.startswith("  ") or " = " not in row:
            continue  # not a row, or the symbolic chain rule (no numbers)
        m = _EXACT_LATEX.search(row)
        exact = m.group(1) if m else None
        row = row[:m.start()] if m else row
        name, _, rest = row.partition(" &= ")
        lines.append(("x = " + " = ".join(_latex_to_text(p) for p in rest.split(" = ")), exact))
    return lines


def table_values(out: str) -> list[str]:
    return [line.split()[-1] for line in out.splitlines() if line.startswith("  ")]


# --- the reader itself ------------------------------------------------------------------------


def test_reader_reads_the_printed_forms():
    assert _Reader("0.15 · 0.05 + 0.2 · 0.1 + 0.35", 0).value() == pytest.approx(0.3775)
    assert _Reader("1/(1 + e^(-0.3775))", 0).value() == pytest.approx(1 / (1 + math.exp(-0.3775)))
    assert _Reader("½ · (0.01 - 0.7514)²", 0).value() == pytest.approx(0.5 * 0.7414 ** 2)
    assert _Reader("0.4 · 0.1385 + 0.5 · (-0.0381)", 0).value() == pytest.approx(0.03635)
    assert _Reader("lrelu(-2) + relu'(0.5)", 0.1).value() == pytest.approx(0.8)
    assert _numeric("w1 · i1", 0) is None
    text = _latex_to_text("\\frac{1}{1 + e^{-0.3775}} \\cdot \\left(-0.2\\right)^{2}")
    assert _Reader(text, 0).value() == pytest.approx(0.04 / (1 + math.exp(-0.3775)))


def test_the_checker_catches_the_lines_of_the_issue():
    # issue 10: classic s003 printed "0.3251 + 0.1199 = 0.4451"; and an operand nobody printed.
    checked, failures = check_lines([("E = E_1 + E_2 = 0.3251 + 0.1199 = 0.4451", None)], 0, {"0.3251", "0.1199"})
    assert checked == 1 and len(failures) == 1
    _, failures = check_lines([("z = w · x = 0.5 · 0.3333 = 0.1667", None)], 0, {"0.5"})
    assert len(failures) == 1 and "neither a given" in failures[0]


# --- every bundled bank, 50 students ----------------------------------------------------------


@pytest.fixture(scope="module")
def classes():
    out = {}
    for name in BANKS:
        bank = load_bank(name)
        manifest = generate(bank, "worked-lines", class_ids(STUDENTS))
        values = evaluate(manifest.graph, manifest.givens())
        out[name] = (bank, manifest, values)
    return out


def _student(values, i):
    return {k: v[i:i + 1] for k, v in values.items()}


@pytest.mark.parametrize("name", BANKS)
def test_every_steps_line_of_50_students_is_true_as_printed(classes, name):
    bank, manifest, values = classes[name]
    graph, labels, d = manifest.graph, manifest.labels(), bank.decimals
    total = 0
    for i, student in enumerate(manifest.students):
        mine = _student(values, i)
        out = worked_text(graph, mine, labels, d)
        assert "Later lines go on from the rounded results shown" in out.split("\n\n")[1]
        given = set(re.findall(r"= (-?\d+(?:\.\d+)?)", out.splitlines()[0]))
        lines = text_lines(out)
        checked, failures = check_lines(lines, graph.arch.leaky_slope, given)
        assert not failures, f"{student.id}: " + "\n".join(failures[:5])
        assert len(lines) == len(graph.steps) and checked == len(lines)
        # The exact note is where the answer table's exact value differs, and only there.
        for (line, exact), table in zip(lines, table_values(answer_table(graph, mine, labels, d)), strict=True):
            assert (exact or line.split(" = ")[-1]) == table, (student.id, line, exact, table)
        total += len(lines)
    assert total == STUDENTS * len(graph.steps)


@pytest.mark.parametrize("name", BANKS)
def test_every_latex_line_of_50_students_is_true_as_printed(classes, name):
    bank, manifest, values = classes[name]
    graph, labels, d = manifest.graph, manifest.labels(), bank.decimals
    for i, student in enumerate(manifest.students):
        mine = _student(values, i)
        out = worked_latex(graph, mine, labels, d)
        assert "Later lines go on from the rounded results shown" in out.splitlines()[1]
        given = {f"{float(values[g][i]):.10f}".rstrip("0").rstrip(".") for g in graph.arch.given_names()}
        lines = latex_lines(out)
        assert len(lines) == len(graph.steps)
        checked, failures = check_lines(lines, graph.arch.leaky_slope, given)
        assert not failures, f"{student.id}: " + "\n".join(failures[:5])
        assert checked == len(lines)
        text_notes = [e for _, e in text_lines(worked_text(graph, mine, labels, d))]
        assert [e for _, e in lines] == text_notes


@pytest.mark.parametrize("example", ["mazur_2-2-2", "bits_2-2-2", "esuli_3-2-1"])
@pytest.mark.parametrize("decimals", [2, 3, 4, 6])
def test_solve_steps_of_the_bundled_examples(runner, examples, example, decimals):
    path = examples / f"{example}.toml"
    result = runner.invoke(cli, ["solve", str(path), "--steps", "--decimals", str(decimals)])
    assert result.exit_code == 0, result.output
    given = set(re.findall(r"= (-?\d+(?:\.\d+)?)", result.stdout.splitlines()[0]))
    slope_m = re.search(r"leaky ReLU slope = ([\d.]+)", result.stdout)
    checked, failures = check_lines(text_lines(result.stdout), float(slope_m.group(1)) if slope_m else 0.0, given)
    assert checked > 20 and not failures, "\n".join(failures[:5])
    latex = runner.invoke(cli, ["solve", str(path), "--format", "latex", "--decimals", str(decimals)]).stdout
    checked, failures = check_lines(latex_lines(latex), float(slope_m.group(1)) if slope_m else 0.0, given)
    assert checked > 20 and not failures, "\n".join(failures[:5])


def test_mazur_chain_matches_the_hand_worked_seed(runner, examples):
    # seeds/003 works Mazur's exercise by hand at 4 decimals; these are its printed values.
    out = runner.invoke(cli, ["solve", str(examples / "mazur_2-2-2.toml"), "--steps"]).stdout.splitlines()
    for line in ("  net_o1 = w5 · out_h1 + w6 · out_h2 + b2 = 0.4 · 0.5933 + 0.45 · 0.5969 + 0.6 = 1.1059",
                 "  E_total = E_o1 + E_o2 = 0.2748 + 0.0236 = 0.2984",
                 "  δ_o1 = ∂E_total/∂out_o1 · ∂out_o1/∂net_o1 = 0.7414 · 0.1868 = 0.1385",
                 # 0.0088 + 0.0100 is 0.0188 on the page, although the exact δs give 0.0187.
                 "  ∂E_total/∂b1 = δ_h1 + δ_h2 = 0.0088 + 0.0100 = 0.0188 (exact 0.0187)"):
        assert line in out, line


# --- the key PDF --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["classic", "softmax-2-3-2"])
def test_key_pdf_prints_the_rounded_chain_and_the_exact_notes(classes, name):
    pypdf = pytest.importorskip("pypdf")
    import io

    from nnexam.present import chain_line, worked_values
    from nnexam.render import render_key

    bank, manifest, values = classes[name]
    graph, labels, d = manifest.graph, manifest.labels(), bank.decimals
    asked = [q.name for q in manifest.questions]
    for i in (0, 1):
        mine = _student(values, i)
        pdf = pypdf.PdfReader(io.BytesIO(render_key(manifest, manifest.students[i])))
        text = " ".join(page.extract_text() for page in pdf.pages)
        text = re.sub(r"\s+", " ", text.replace("\u2212", "-").replace("\u00a0", " "))
        assert "Later lines go on from the rounded results shown" in text
        found = set(re.findall(r"-?\d+\.\d+", text))
        # The worked results of the asked steps (as --steps prints them) and their exact notes are on the page.
        by_step = dict(zip(graph.names, text_lines(worked_text(graph, mine, labels, d))))
        for q in asked:
            line, exact = by_step[q]
            assert line.split(" = ")[-1] in found, (q, line)
            if exact:
                assert f"(exact {exact})" in text, (q, line)
        # The chain rule written out with numbers: the product of the printed factors is its result.
        chain = worked_values(graph, mine, d)
        for q in asked:
            if graph[q].kind == "dE_dw":
                line = chain_line(graph, q, chain, labels, d, "text", exact=mine)
                product = np.prod([float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", line.substituted.replace("(", ""))])
                assert abs(product - float(line.result)) <= 0.5 * 10 ** -d * (1 + 1e-9)
                assert line.result in found


# --- any network: every activation and loss ----------------------------------------------------


@st.composite
def small_networks(draw):
    """A network of any shape, activation and loss, with givens at 2 decimals as banks draw them."""
    depth = draw(st.integers(1, 3))
    layers = tuple(draw(st.integers(1, 3)) for _ in range(depth + 1))
    pairs = [("sigmoid", "bce"), ("tanh", "mse"), ("linear", "half_sse"), ("sigmoid", "cross_entropy"), ("relu", "mse")]
    last, loss = draw(st.sampled_from(pairs + ([("softmax", "cross_entropy"), ("softmax", "half_sse")] if layers[-1] > 1 else [])))
    acts = tuple(draw(st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "linear"])) for _ in range(depth - 1)) + (last,)
    arch = Architecture(layers, acts, loss, draw(st.sampled_from(["per_neuron", "shared", "none"])), draw(st.booleans()))
    cents = st.integers(-200, 200).map(lambda c: c / 100)
    givens = {}
    for name in arch.given_names():
        v = draw(cents)
        givens[name] = [abs(v) / 2 if name.startswith("t_") or name == "eta" else v]
    if last == "softmax" and loss == "cross_entropy":
        n = layers[-1]
        givens |= {f"t_{j}": [1.0 if j == 1 else 0.0] for j in range(1, n + 1)}
    if loss in ("bce", "cross_entropy"):
        givens |= {f"t_{j}": [min(givens[f't_{j}'][0], 1.0)] for j in range(1, layers[-1] + 1)}
    return build_graph(arch), givens


@settings(max_examples=60, deadline=None)
@given(small_networks(), st.sampled_from(["mazur", "bits", "matrix"]), st.integers(0, 6))
def test_every_line_is_true_as_printed_for_any_network(network, notation, decimals):
    graph, givens = network
    values = evaluate(graph, givens)
    names = labels(graph, notation)
    out = worked_text(graph, values, names, decimals)
    lines = [(line, e) for line, e in text_lines(out) if not re.search(r"nan|inf", line)]
    given = set(re.findall(r"= (-?\d+(?:\.\d+)?)", out.splitlines()[0]))
    checked, failures = check_lines(lines, graph.arch.leaky_slope, given)
    # A line after the exact-value fallback (a rounded input at ln 0 or a division by 0) may be off.
    chain = worked_values(graph, values, decimals)
    with np.errstate(all="ignore"):
        fallback = any(not np.isfinite(s.expr.evaluate(chain)).all() for s in graph.steps)
    assert fallback or not failures, "\n".join(failures[:5])
    assert checked == len(lines)


@pytest.mark.parametrize("name", BANKS)
def test_a_student_who_writes_the_keys_worked_results_scores_full_marks(classes, name):
    """The worked solution is a hand-rounded chain: its results, written as answers, are all accepted."""
    import csv
    import io

    from nnexam.generate import submission_template
    from nnexam.grade import Policy, grade, parse_submissions
    from nnexam.table import read_table

    bank, manifest, values = classes[name]
    d = max(q.decimals for q in manifest.questions)
    chain = worked_values(manifest.graph, values, d)
    header = next(csv.reader(io.StringIO(submission_template(manifest).lstrip("\ufeff"))))
    name_of = {q.label: q.name for q in manifest.questions}
    rows = [header] + [[s.id if h == "student_id" else f"{float(chain[name_of[h]][i]):.{d}f}" if h in name_of else ""
                        for h in header] for i, s in enumerate(manifest.students)]
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    grades = grade(manifest, parse_submissions(read_table(text.getvalue().encode(), "chain.csv"), manifest), Policy(1.0))
    assert grades.score.tolist() == [grades.max_score] * STUDENTS
