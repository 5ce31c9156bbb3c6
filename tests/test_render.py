"""The PDF builder: what a sheet and a key contain (and must not), fonts, reproducible bytes, layout, CLI."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pypdf
import pytest

from nnexam.bank import load_bank
from nnexam.cli import cli
from nnexam.errors import NnexamError
from nnexam.files import unique_stems
from nnexam.generate import generate
from nnexam.graph import build_graph
from nnexam.manifest import Manifest, Question, StudentVariant
from nnexam.notation import labels
from nnexam.present import fmt, fmt_given
from nnexam.render import bundle, render_key, render_sheet, student_files
from nnexam.render.diagram import _overlaps, layout
from nnexam.render.documents import _diagram, _printed_givens, exam_of
from nnexam.render.typeset import MathLine, word_width, words
from nnexam.solve import solve
from nnexam.spec import parse_spec, read_mapping

NAMES = ["Zoë Ångström-Núñez", "Łukasz Żółć", "Bob"]


def synthetic(spec: dict, n: int = 2, asked: list[str] | None = None) -> Manifest:
    """A manifest built from dataclasses: `n` variants of a spec (weights nudged), all steps of `asked` tasks."""
    base = parse_spec(spec, "test")
    graph = build_graph(base.arch)
    lab = labels(graph, base.notation, dict(base.names))
    asked = asked or [s.name for s in graph.steps if s.task in ("forward", "loss", "deltas", "output_gradients",
                                                                   "hidden_gradients", "updated_weights")]
    qs = tuple(Question(a, lab[a].ascii, graph[a].task, 1.0, 4) for a in asked)
    ids = [f"id/{i}" for i in range(n)]
    stems = unique_stems(ids)
    students = []
    for i in range(n):
        d = dict(spec)
        d["weights"] = [[[round(w + 0.05 * i * ((j + k) % 3 - 1), 2) for k, w in enumerate(row)]
                         for j, row in enumerate(m)] for m in spec["weights"]]
        net = parse_spec(d, "test")
        students.append(StudentVariant.of(ids[i], NAMES[i % len(NAMES)], f"V{i}", net,
                                       {"sheet": f"sheets/{stems[i]}.pdf", "key": f"keys/{stems[i]}.pdf"}))
    return Manifest("1", "test", "sha256:0", {}, "Test exam", "Course 101", "1 April 2026", base.notation, qs,
                    tuple(students))


def example(examples, name: str, **kw) -> Manifest:
    spec = read_mapping(examples / f"{name}.toml")
    spec.pop("title")
    return synthetic(spec, **kw)


def shaped(layers, acts, loss, bias="per_neuron", notation="mazur") -> dict:
    """A spec of any shape with small, varied weights."""
    w = [[[round(((l * 7 + j * 3 + k * 5) % 19 - 9) / 10, 2) for k in range(layers[l - 1])] for j in range(layers[l])]
         for l in range(1, len(layers))]
    targets = [round(1 / layers[-1], 4)] * layers[-1] if acts[-1] == "softmax" else [0.25] * layers[-1]
    if acts[-1] == "softmax":
        targets[-1] = round(1 - sum(targets[:-1]), 4)
    d = dict(layers=layers, activations=acts, loss=loss, learning_rate=0.5, bias=bias, weights=w,
             inputs=[round(0.1 * (k + 1), 2) for k in range(layers[0])], targets=targets, notation=notation)
    if bias == "per_neuron":
        d["biases"] = [[0.1] * n for n in layers[1:]]
    elif bias == "shared":
        d["biases"] = [0.1] * (len(layers) - 1)
    return d


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    return text.replace("\u00a0", " ").replace("\u2212", "-")


def numbers(text: str) -> set[str]:
    return set(re.findall(r"-?\d+\.\d+|-?\d+", text))


@pytest.fixture(scope="module")
def classic() -> Manifest:
    """Three students of the bundled default bank, through the generator."""
    return generate(load_bank("classic"), "render-tests", [("s1", NAMES[0]), ("s2", NAMES[1]), ("s3", "")])


def manifests(examples_dir):
    yield "classic", generate(load_bank("classic"), "t", [("a1", NAMES[0]), ("a2", NAMES[1])])
    for bank in ("softmax-2-3-2", "relu-3-2-1", "bce-2-2-1", "classic-bits"):
        yield bank, generate(load_bank(bank), "t", [("a1", NAMES[0])])
    yield "esuli", example(examples_dir, "esuli_3-2-1", n=1)


def test_sheets_show_every_given_and_no_answer(examples):
    for bank, m in manifests(examples):
        for s in m.students:
            data = render_sheet(m, s)
            text = pdf_text(data)
            found = numbers(text)
            printed = {fmt_given(float(v[0])) for v in s.network.givens().values()}
            assert printed <= found, (bank, printed - found)
            assert s.name in text and s.id in text and s.variant in text
            reader = pypdf.PdfReader(io.BytesIO(data))
            meta = " ".join(str(v) for v in (reader.metadata or {}).values())
            key = solve(s.network)
            for q in m.questions:
                v = key.value(q.name)
                for d in {q.decimals, 2, 3, 4, 5, 6}:
                    shown = fmt(v, d)
                    if shown in printed or float(shown) == 0:
                        continue  # the same digits as a printed given (or 0.00): nothing to read off
                    assert shown not in found, (bank, q.label, shown)
                    assert shown not in meta
            assert all("/Annots" not in p for p in reader.pages)


def test_keys_show_every_answer_at_its_decimals(examples):
    for bank, m in manifests(examples):
        for s in m.students:
            text = pdf_text(render_key(m, s))
            found = numbers(text)
            key = solve(s.network)
            for q in m.questions:
                assert fmt(key.value(q.name), q.decimals) in found, (bank, q.label)
                assert q.label in text
            assert s.name in text and "Answer key".upper() in text.upper()


def test_key_writes_the_chain_rule_for_a_weight_of_every_layer(classic):
    text = pdf_text(render_key(classic, classic.students[0]))
    chains = [line for line in text.splitlines() if line.count("∂") >= 8]  # ∂E/∂w = ∂E/∂a · ∂a/∂z · ∂z/∂w
    assert len(chains) >= classic.arch.depth, chains
    assert "σ" in text and "η" in text and "δ" in text


def test_the_classic_sheet_without_working_space_fits_on_two_a4_pages(classic):
    m = dataclasses.replace(classic, bank={**classic.bank, "working_space": "none"})
    for paper in ("a4", "letter"):
        reader = pypdf.PdfReader(io.BytesIO(render_sheet(m, m.students[0], paper=paper)))
        assert len(reader.pages) == (2 if paper == "a4" else 3)  # Letter is 18 mm shorter: the last task moves on
        width = float(reader.pages[0].mediabox.width)
        assert round(width) == (595 if paper == "a4" else 612)


def test_fonts_are_embedded_truetype(classic):
    for data in (render_sheet(classic, classic.students[0]), render_key(classic, classic.students[0])):
        reader = pypdf.PdfReader(io.BytesIO(data))
        fonts = {}
        for page in reader.pages:
            for name, ref in page["/Resources"]["/Font"].items():
                fonts[name] = ref.get_object()
        assert fonts
        for font in fonts.values():
            assert font["/Subtype"] == "/TrueType", font
            assert "/FontFile2" in font["/FontDescriptor"].get_object()
            assert "DejaVu" in font["/BaseFont"]


def test_same_input_gives_identical_bytes(classic):
    s = classic.students[1]
    assert render_sheet(classic, s) == render_sheet(classic, s)
    assert render_key(classic, s, paper="letter") == render_key(classic, s, paper="letter")
    assert render_sheet(classic, s) != render_sheet(classic, classic.students[0])


def test_title_override_and_paper_check(classic):
    s = classic.students[0]
    assert "Quiz 3, group B" in pdf_text(render_sheet(classic, s, title="Quiz 3, group B"))
    with pytest.raises(NnexamError, match="paper"):
        render_sheet(classic, s, paper="a5")


SHAPES = [
    ([8, 8, 8, 8, 8], ["sigmoid", "tanh", "relu", "softmax"], "cross_entropy", "per_neuron", "mazur"),
    ([3, 5, 8, 4, 2], ["sigmoid"] * 4, "half_sse", "shared", "bits"),
    ([1, 1], ["sigmoid"], "bce", "none", "matrix"),
    ([1, 8, 1], ["leaky_relu", "sigmoid"], "bce", "per_neuron", "mazur"),
    ([8, 2, 8], ["linear", "softmax"], "mse", "shared", "matrix"),
]


@pytest.mark.parametrize("layers,acts,loss,bias,notation", SHAPES, ids=["x".join(map(str, s[0])) for s in SHAPES])
def test_diagram_labels_never_overlap(layers, acts, loss, bias, notation):
    m = synthetic(shaped(layers, acts, loss, bias, notation), n=1, asked=["E"])
    exam = exam_of(m)
    for width in (493.0, 510.0):  # A4 and Letter frames
        lay = _diagram(exam, _printed_givens(exam, m.students[0]), width).lay
        boxes = lay.boxes()
        circles = [(x - 11, y - 11, x + 11, y + 11) for x, y in lay.centres.values()]
        for i, a in enumerate(boxes):
            assert 0 <= a[0] and a[2] <= lay.width and 0 <= a[1] and a[3] <= lay.height
            assert not any(_overlaps(a, b) for b in boxes[i + 1:]), a
            assert not any(_overlaps(a, c) for c in circles), a
    assert layout.cache_info().maxsize


def test_extreme_shapes_render_everything():
    m = synthetic(shaped([8, 8, 8, 8, 8], ["sigmoid", "tanh", "relu", "softmax"], "cross_entropy"), n=1,
                  asked=["E", "dE_dw1_8_8", "w4_8_8_new"])
    s = m.students[0]
    text = pdf_text(render_key(m, s))
    key = solve(s.network)
    for q in m.questions:
        assert fmt(key.value(q.name), 4) in numbers(text)
    assert len(pypdf.PdfReader(io.BytesIO(render_sheet(m, s))).pages) >= 2


def test_long_formulas_wrap_inside_the_frame():
    latex = " + ".join(f"w_{{{i}}} \\cdot out_{{h{i}}}" for i in range(1, 9)) + r" = \frac{1}{1 + e^{-0.1234}}"
    line = MathLine(words(f"net_{{o1}} = {latex}"), 9.3, indent=22)
    _, height = line.wrap(200, 1000)
    assert height > line.leading * 3
    for x0, ws, *_ in line._lines:
        assert x0 + sum(word_width(w, 9.3) for w in ws) + 3 * (len(ws) - 1) <= 200


def test_bundle_has_every_page_and_a_bookmark_per_student(classic):
    docs = [render_sheet(classic, s) for s in classic.students]
    marks = ["Zoë Ångström-Núñez (s1)", "Łukasz (s2)", "s3"]
    data = bundle(docs, marks, "Sheets", duplex=False)  # one-sided: every page as the students' files have it
    assert data == bundle(docs, marks, "Sheets", duplex=False)
    reader = pypdf.PdfReader(io.BytesIO(data))
    counts = [len(pypdf.PdfReader(io.BytesIO(d)).pages) for d in docs]
    assert len(reader.pages) == sum(counts)
    assert [o.title for o in reader.outline] == marks
    assert [reader.get_destination_page_number(o) for o in reader.outline] == [0, counts[0], counts[0] + counts[1]]
    assert classic.students[2].id in reader.pages[counts[0] + counts[1]].extract_text()
    assert len(data) < sum(map(len, docs))  # identical font programs are stored once


def test_student_files_refuse_paths_that_escape(classic):
    assert student_files(classic)[0] == ("sheets/s1.pdf", "keys/s1.pdf")
    bad = StudentVariant.of("x", "", "V", classic.students[0].network, {"sheet": "../../etc/x.pdf", "key": "keys/x.pdf"})
    m = Manifest(**{**classic.__dict__, "students": (bad,), "table": None})
    with pytest.raises(NnexamError, match="safe relative path"):
        student_files(m)


def test_cli_render_rebuilds_pdfs_from_the_manifest(runner, tmp_path, classic):
    (tmp_path / "manifest.json").write_bytes(classic.to_json())
    result = runner.invoke(cli, ["render", str(tmp_path), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    for s in classic.students:
        for kind in ("sheet", "key"):
            assert (tmp_path / s.files[kind]).read_bytes()[:5] == b"%PDF-"
    first = (tmp_path / "sheets.pdf").read_bytes()
    assert len(pypdf.PdfReader(tmp_path / "keys.pdf").outline) == 3
    again = runner.invoke(cli, ["render", str(tmp_path)])
    assert again.exit_code == 2 and "--force" in again.output and "Traceback" not in again.output
    # One process or two, the same bytes.
    assert runner.invoke(cli, ["render", str(tmp_path), "--force", "--jobs", "1"]).exit_code == 0
    assert (tmp_path / "sheets.pdf").read_bytes() == first
    letter = runner.invoke(cli, ["render", str(tmp_path), "--force", "--paper", "letter", "--title", "Retake"])
    assert letter.exit_code == 0
    assert "Retake" in pdf_text((tmp_path / classic.students[0].files["sheet"]).read_bytes())


def test_cli_render_reports_a_missing_or_bad_manifest_in_one_line(runner, tmp_path):
    result = runner.invoke(cli, ["render", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("nnexam: error:") and "manifest" in result.output
    (tmp_path / "manifest.json").write_text("{not json")
    result = runner.invoke(cli, ["render", str(tmp_path)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "line 1" in result.output
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "nnexam-manifest", "format_version": 1}))
    result = runner.invoke(cli, ["render", str(tmp_path)])
    assert result.exit_code == 2 and "missing key" in result.output
    assert not (tmp_path / "sheets.pdf").exists()


def _crossed(lay, arch) -> list[str]:
    """Weight labels that another weight's edge runs through (which edge a label belongs to is then unclear)."""
    segs = [(f"w{l}_{j}_{k}", lay.centres[l - 1, k], lay.centres[l, j]) for l in range(1, arch.depth + 1)
            for k in range(1, arch.layers[l - 1] + 1) for j in range(1, arch.layers[l] + 1)]
    out = []
    for e in lay.edges:
        x0, y0, x1, y1 = e.box
        for name, (ax, ay), (bx, by) in segs:
            if name != e.weight and any(x0 < ax + t / 400 * (bx - ax) < x1 and y0 < ay + t / 400 * (by - ay) < y1
                                        for t in range(401)):
                out.append(e.weight)
                break
    return out


@pytest.mark.parametrize("layers,acts,loss,bias,crossed", [
    ([2, 2, 2], ["sigmoid", "sigmoid"], "half_sse", "shared", 0),
    ([3, 2, 1], ["relu", "sigmoid"], "half_sse", "per_neuron", 0),
    ([2, 3, 2], ["tanh", "softmax"], "cross_entropy", "per_neuron", 0),
    ([1, 8, 1], ["sigmoid", "sigmoid"], "bce", "none", 0),
    ([4, 4, 4], ["sigmoid", "sigmoid"], "half_sse", "per_neuron", 0.2),
    ([8, 3, 8], ["sigmoid", "sigmoid"], "half_sse", "per_neuron", 0.2),
    ([4, 5, 8], ["tanh", "softmax"], "cross_entropy", "per_neuron", 0.2),
])
def test_weight_labels_sit_on_their_own_edge(layers, acts, loss, bias, crossed):
    """No other edge runs through a weight's label (a few may in dense layers, where values stay on the edges)."""
    m = synthetic(shaped(layers, acts, loss, bias), n=1, asked=["E"])
    exam = exam_of(m)
    for width in (498.9, 515.6):  # A4 and Letter frames
        lay = _diagram(exam, _printed_givens(exam, m.students[0]), width).lay
        assert len(_crossed(lay, m.arch)) <= crossed * len(lay.edges)
        if not crossed:
            assert all(e.with_value and e.size >= 7 for e in lay.edges)


@pytest.mark.parametrize("layers,acts,loss,bias,notation", SHAPES, ids=["x".join(map(str, s[0])) for s in SHAPES])
def test_diagram_fits_page_one_without_overlaps(layers, acts, loss, bias, notation):
    m = synthetic(shaped(layers, acts, loss, bias, notation), n=1, asked=["E"])
    s = m.students[0]
    for paper in ("a4", "letter"):
        reader = pypdf.PdfReader(io.BytesIO(render_sheet(m, s, paper=paper)))
        first = reader.pages[0].extract_text()
        exam = exam_of(m)
        for (kind, width, height, _), (_, room) in exam.budgets.items():
            lay = _diagram(exam, _printed_givens(exam, s), width, room).lay
            assert lay.height <= room or lay.height <= 330, (kind, lay.height, room)
            boxes = lay.boxes()
            for i, a in enumerate(boxes):
                assert not any(_overlaps(a, b) for b in boxes[i + 1:]), (kind, a)
        # The diagram is on page 1: every input value is printed there.
        for k in range(1, layers[0] + 1):
            assert fmt_given(float(s.network.givens()[f"x_{k}"][0])).lstrip("-") in first.replace("\u2212", "-")


def test_negative_numbers_print_with_a_minus_sign(classic):
    s = classic.students[0]
    for data in (render_sheet(classic, s), render_key(classic, s)):
        raw = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
        assert "\u2212" in raw
        assert not re.search(r"(?<![\w/])-\d", raw), re.findall(r".{12}(?<![\w/])-\d.{6}", raw)[:3]


def test_formulas_break_outside_brackets_and_keep_signs_with_numbers():
    latex = (r"E_{o1} = -\left(t_{o1} \cdot \ln(a_{o1}) + \left(1 - t_{o1}\right) \cdot \ln(1 - a_{o1})\right) = "
             r"-\left(0 \cdot \ln(0.5053) + \left(1 - 0\right) \cdot \ln(1 - 0.5053)\right) = 0.7038")
    line = MathLine(words(latex), 9.3, indent=22)
    line.wrap(330, 1000)
    assert len(line._lines) >= 2
    depth = 0
    for _, ws, *_ in line._lines[:-1]:
        for w in ws:
            for t, *_ in w:
                depth += t.count("(") - t.count(")")
        assert depth == 0  # every break falls outside the brackets
    for _, ws, *_ in line._lines[1:]:
        assert ws[0][1][0].lstrip()[0] in "=+−"  # a continuation starts with an operator, never a bare sign


def test_short_formulas_do_not_split_across_pages():
    line = MathLine(words(" + ".join(f"w_{{{i}}}" for i in range(60))), 9.3)
    _, h = line.wrap(200, 1000)
    n = len(line._lines)
    assert n > 4
    assert line.split(200, line.leading * 1.5) == []  # one line would be left alone
    first, rest = line.split(200, line.leading * 2.5)
    assert first.wrap(200, 1000)[1] == 2 * line.leading and rest.wrap(200, 1000)[1] == (n - 2) * line.leading
    assert line.split(200, line.leading * (n - 1)) == [] or len(line.split(200, line.leading * (n - 1))[1]._lines) >= 2


def test_long_names_fit_the_header_and_the_footer(classic):
    long = "Maximilian Alexander Christopher Wolfeschlegelsteinhausenbergerdorff-Ångström"
    s = classic.students[0]
    s = StudentVariant.of(s.id, long, s.variant, s.network, s.files)
    text = pdf_text(render_sheet(classic, s, paper="letter"))
    assert long in text and f"{long} ({s.id})" in text
    absurd = StudentVariant.of(s.id, "Zoë " * 60, s.variant, s.network, s.files)
    assert "…" in pdf_text(render_sheet(classic, absurd))


def test_report_tables_leave_no_lone_rows_at_a_page_break():
    from nnexam.report import MIN_ROWS, _table

    t = _table([["q", "points"]] + [[f"q{i}", "1"] for i in range(30)], [100, 50])
    t.wrap(150, 1000)
    row = t._rowHeights[1]
    for rows_fitting in range(1, 30):
        parts = t.split(150, t._rowHeights[0] + row * rows_fitting + 0.5)
        if parts:
            first, last = (len(p._cellvalues) - 1 for p in parts)
            assert first >= MIN_ROWS and last >= MIN_ROWS and first + last == 30


def test_a_task_asked_twice_is_two_sheet_tasks_in_sheet_order_and_weights_in_course_numbering():
    """classic-bits asks the output layer's new weights, then the hidden gradients, then the hidden
    layer's new weights: the sheet keeps that order (never w1' before dE/dw1) and lists w1..w4."""
    m = generate(load_bank("classic-bits"), "tasks", [("a", "")])
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(render_sheet(m, m.students[0]))).pages)
    text = " ".join(text.split())
    headings = re.findall(r"Task (\d+)\. ([A-Z][a-z -]+(?:\([a-z ]+\))?)", text)
    titles = [t.strip() for _, t in headings]
    assert [n for n, _ in headings] == [str(i) for i in range(1, 8)]
    out, grads, hidden = (titles.index("Weights after one gradient-descent step (output layer)"),
                          titles.index("Gradients of the hidden-layer weights"),
                          titles.index("Weights after one gradient-descent step (hidden layer)"))
    assert out < grads < hidden
    assert re.search(r"w1 = \S+ w2 = \S+ w3 = \S+ w4 = ", text)
