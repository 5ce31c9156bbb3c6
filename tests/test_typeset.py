"""Math layout as TeX sets it: fractions, scripts, primes, math style, line breaks; and the geometry in the PDFs.

The PDF checks read the content streams with a small interpreter of their own (cm, Tm, Tf, Ts,
TJ with the embedded fonts' /Widths), so the positions come from the PDF's text semantics, not
from the layout code that wrote them. TeX's numbers are quoted from The TeXbook, appendix G, and
cmsy10's font parameters (sup1 = 0.413, sub1 = 0.15, num1 = 0.677, denom1 = 0.686, em units).
"""

from __future__ import annotations

import dataclasses
import io

import pypdf
import pytest
from pypdf.generic import ContentStream
from reportlab.lib.units import mm

from nnexam.bank import bundled_banks, load_bank, parse_bank
from nnexam.errors import NnexamError
from nnexam.fonts import register_fonts
from nnexam.generate import class_ids, generate
from nnexam.present import parts, sections, worked_line
from nnexam.render import render_key, render_sheet
from nnexam.render.documents import MARGIN, PAPERS, exam_of, student_values
from nnexam.render.typeset import (BOLD, GLUE_BIN, GLUE_REL, ITALIC, ROMAN, RULE, MathLine, word, word_width,
                                   words)

register_fonts()


# --- reading back what a word draws ---------------------------------------------------------------

def placed(w, size: float = 10.0):
    """(x0, x1, y, text, font, size) of every run and (x0, x1, y, "", RULE, size) of every bar, in points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    out, pen = [], 0.0
    for text, font, sc, rise, kern in w:
        pen += kern * size
        if font == RULE:
            out.append((pen, pen + sc * size, rise * size, "", RULE, size))
            pen += sc * size
        elif font in (GLUE_REL, GLUE_BIN, "glue"):
            pen += sc * size
        else:
            wd = stringWidth(text, font, sc * size)
            out.append((pen, pen + wd, rise * size, text, font, sc * size))
            pen += wd
    return out


def text_of(w) -> str:
    return "".join(t for t, f, *_ in w if f not in (RULE,))


def test_a_derivative_is_a_built_up_fraction_centred_on_its_bar():
    (w,) = words(r"\frac{\partial E_{total}}{\partial out_{o1}}")
    items = placed(w)
    bars = [i for i in items if i[4] == RULE]
    assert len(bars) == 1
    bar = bars[0]
    num = [i for i in items if i[4] != RULE and i[2] > bar[2]]
    den = [i for i in items if i[4] != RULE and i[2] < 0]
    assert "".join(i[3] for i in num).replace(" ", "") == "∂Etotal"
    assert "".join(i[3] for i in den).replace(" ", "") == "∂outo1"
    for part in (num, den):
        lo, hi = min(i[0] for i in part), max(i[1] for i in part)
        # centred as TeX centres boxes: a part ending in a subscript carries \scriptspace (0.05 em) after it
        assert abs((lo + hi) / 2 - (bar[0] + bar[1]) / 2) < 0.26
        assert bar[0] - 0.01 <= lo and hi <= bar[1] + 0.01  # the bar spans both parts
    # Display style (rule 15a): the numerator's baseline at least num1 = 0.677 em up, the denominator's
    # at least denom1 = 0.686 em down; both at full size (the numerator of a display fraction is text style).
    assert min(i[2] for i in num if i[5] == 10.0) >= 6.77 - 1e-6 and max(i[2] for i in den if i[5] == 10.0) <= -6.86 + 1e-6
    assert {i[5] for i in num if i[3].startswith("∂")} == {10.0}
    # the bar sits on the math axis (the middle of DejaVu's minus sign, 0.3135 em)
    assert abs(bar[2] + 0.55 / 2 - 3.135) < 0.01


def test_the_logistic_function_in_text_style_has_script_sized_parts():
    (w,) = words(r"\frac{1}{1 + e^{-x}}", style="text")
    items = placed(w)
    sizes = {i[3].strip(): i[5] for i in items if i[3].strip()}
    assert sizes["1"] == pytest.approx(7.0)  # scriptstyle: 70 %
    assert sizes["x"] == pytest.approx(5.0)  # scriptscriptstyle: 50 %
    bar = next(i for i in items if i[4] == RULE)
    assert sum(i[2] > bar[2] for i in items if i[3].strip()) == 1  # only "1" above the bar


def test_scripts_sit_at_texs_sizes_and_shifts():
    items = placed(words("w_{5}")[0])
    assert items[1][3] == "5" and items[1][5] == pytest.approx(7.0) and items[1][2] == pytest.approx(-1.5)  # sub1
    items = placed(words("e^{x}")[0])  # display style: sup1
    assert items[1][5] == pytest.approx(7.0) and items[1][2] == pytest.approx(4.13)
    items = placed(word("e^{x}"))  # text style: sup2
    assert items[1][2] == pytest.approx(3.63)
    items = placed(words("e^{x^{2}}")[0])  # a superscript's superscript: scriptscript, 50 %
    assert items[2][3] == "2" and items[2][5] == pytest.approx(5.0)
    assert items[2][2] > items[1][2]
    # In a denominator (cramped) the superscript goes up only sup3 = 0.289 of its style's size.
    (w,) = words(r"\frac{1}{e^{x}}")
    den = [i for i in placed(w) if i[3] in ("e", "x")]
    assert den[1][2] - den[0][2] == pytest.approx(2.89)


def test_primes_follow_the_symbol_with_the_index_under_them():
    items = placed(words("w'_{5}")[0])
    w, prime, five = items[0], items[1], items[2]
    assert (w[3], prime[3], five[3]) == ("w", "′", "5")
    assert prime[0] >= w[1] and abs(five[0] - w[1]) < 0.01  # prime and index both start after the w
    assert five[2] < 0 < prime[1] - prime[0]
    assert word_width(words("w'_{5}")[0], 10) < word_width(words("w_{5}'")[0], 10) + 2.5


def test_one_math_style():
    w = word(r"\sigma\left(net_{h1}\right) + \tanh(x) + \ln(2.5) + \delta_{o1} \cdot \eta")
    fonts = {}
    for t, f, *_ in w:
        if "tanh" not in t and "ln" not in t:
            for ch in t.strip():
                fonts.setdefault(ch, set()).add(f)
    for ch in "σδηnetxo":
        assert fonts[ch] == {ITALIC}, ch  # Latin variables and lowercase Greek: italic
    for ch in "2.5+−·()":
        assert fonts.get(ch, {ROMAN}) <= {ROMAN}, ch
    upright = "".join(t for t, f, *_ in w if f == ROMAN)
    assert "tanh" in upright and "ln" in upright  # function names upright
    assert words(r"\mathbf{-0.25}")[0][0][1] == BOLD


def test_operator_spacing_follows_texs_table():
    (w,) = words("a + b")[1:]  # the word "+ b" starts with its medium space (4 mu) before the +
    assert w[0][1] == GLUE_BIN and w[0][2] == pytest.approx(4 / 18)
    w = words("a = b")[1]
    assert w[0][1] == GLUE_REL and w[0][2] == pytest.approx(5 / 18)
    assert len(words("-x")) == 1 and len(words("a = -b")) == 2  # a sign is no operator: no break
    assert len(words(r"a \cdot b \cdot c")) == 1  # never inside a product


def test_breaks_fall_only_at_top_level_relations_and_sums():
    latex = (r"E_{o1} = -\left(t_{o1} \cdot \ln(a_{o1}) + \left(1 - t_{o1}\right) \cdot \ln(1 - a_{o1})\right) = "
             r"-\left(0 \cdot \ln(0.5053) + \left(1 - 0\right) \cdot \ln(1 - 0.5053)\right) + \frac{1 + x}{2 - y} = 0.7038")
    ws = words(latex)
    assert len(ws) == 5
    for w in ws:
        t = text_of(w)
        assert t.count("(") == t.count(")")  # every break falls outside the brackets
    for w in ws[1:]:
        assert w[0][1] in (GLUE_REL, GLUE_BIN) and w[1][0].lstrip()[0] in "=+−"


def test_a_continuation_is_indented_under_the_first_equals_sign():
    latex = "net_{o1} = " + " + ".join(f"w_{{{i}}} \\cdot out_{{h{i}}}" for i in range(1, 9)) + " = 0.5"
    line = MathLine(words(latex), 9.3, indent=22)
    line.wrap(260, 1000)
    lines = line._lines
    assert len(lines) >= 3
    first = lines[0]
    eq_x = first[0] + word_width(first[1][0], 9.3)
    for x0, ws, *_ in lines[1:]:
        lead = ws[0][0][1]
        assert lead in (GLUE_REL, GLUE_BIN)
        assert x0 >= eq_x - 0.5  # under the first "=", sums a little further in
        if lead == GLUE_BIN:
            assert x0 > eq_x + 5
        assert x0 + sum(word_width(w, 9.3) for w in ws) <= 260 + 0.01


def _line_words(exam, values):
    """Every formula line the key sets, as words (the same calls the key makes)."""
    graph = exam.graph
    givens = frozenset(graph.arch.given_names())
    for _, steps in sections(graph):
        for s in steps:
            if s.name in exam.shown:
                *head, result = parts(worked_line(s, values, exam.labels, exam.decimals, "latex", givens=givens))
                yield words(" = ".join(head) + f" = \\mathbf{{{result}}}")


@pytest.mark.parametrize("bank", [name for name, _ in bundled_banks()])
def test_every_bundled_bank_breaks_outside_brackets_within_the_frame(bank):
    m = generate(load_bank(bank), "breaks", class_ids(50))
    exam = exam_of(m)
    frames = [PAPERS[p][0] - 2 * MARGIN for p in ("a4", "letter")]
    rules = [list(words(f)) for _, fs, _ in exam.rules for f in fs]
    for s in m.students:
        for ws in list(_line_words(exam, student_values(exam, s))) + rules:
            for w in ws:
                t = text_of(w)
                assert t.count("(") == t.count(")"), (bank, t)
            for width in frames:
                line = MathLine(ws, 9.3, indent=22)
                line.wrap(width, 1e6)
                for x0, lws, *_ in line._lines:
                    assert x0 + sum(word_width(w, 9.3) for w in lws) <= width + 0.01, (bank, width)


# --- the PDFs --------------------------------------------------------------------------------------

def marks(data: bytes):
    """Per page: glyph boxes (x0, x1, baseline, size, char) and filled / stroked rectangles, in page coordinates."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = []
    for page in reader.pages:
        fonts = {}
        for name, ref in page["/Resources"]["/Font"].items():
            f = ref.get_object()
            fonts[name] = (int(f["/FirstChar"]), [float(x) for x in f["/Widths"]], str(f["/BaseFont"]))
        glyphs, fills, strokes, paths = [], [], [], []
        stack, ctm = [], (0.0, 0.0)
        pending = []
        tx = ty = rise = size = 0.0
        font = None
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"q":
                stack.append(ctm)
            elif op == b"Q":
                ctm = stack.pop()
            elif op == b"cm":
                a, b, c, d, e, f = (float(v) for v in operands)
                assert (a, b, c, d) == (1, 0, 0, 1)
                ctm = (ctm[0] + e, ctm[1] + f)
            elif op == b"Tm":
                tx, ty = float(operands[4]), float(operands[5])
            elif op == b"Tf":
                font, size = fonts[operands[0]], float(operands[1])
            elif op == b"Ts":
                rise = float(operands[0])
            elif op in (b"TJ", b"Tj"):
                items = operands[0] if op == b"TJ" else [operands[0]]
                for it in items:
                    if isinstance(it, (int, float)) or hasattr(it, "as_numeric"):
                        tx -= float(it) / 1000 * size
                        continue
                    raw = it.original_bytes if hasattr(it, "original_bytes") else bytes(it)
                    for code in raw:
                        wd = font[1][code - font[0]] / 1000 * size
                        glyphs.append((ctm[0] + tx, ctm[0] + tx + wd, ctm[1] + ty + rise, size, code, font[2]))
                        tx += wd
            elif op in (b"m", b"l"):
                paths.append((ctm[0] + float(operands[0]), ctm[1] + float(operands[1])))
            elif op == b"re":
                pending.append(tuple(float(v) for v in operands))
            elif op in (b"f", b"S"):
                for x, y, w, h in pending:
                    (fills if op == b"f" else strokes).append((ctm[0] + x, ctm[1] + y, w, h))
                pending = []
            elif op in (b"n", b"B", b"b"):
                pending = []
        pages.append((glyphs, fills, strokes, paths))
    return pages


@pytest.fixture(scope="module")
def classic_exam():
    return generate(load_bank("classic"), "geometry", class_ids(3))


def test_fraction_bars_in_the_key_are_centred_over_their_parts(classic_exam):
    m = classic_exam
    data = render_key(m, m.students[0])
    checked = 0
    for glyphs, fills, _, _ in marks(data):
        for x, y, w, h in fills:
            if not 0.3 < h < 0.8 or w > 120:
                continue  # not a fraction bar (table stripes are taller)
            above = [g for g in glyphs if x - 0.5 <= g[0] and g[1] <= x + w + 0.5 and 0 < g[2] - y < 12]
            below = [g for g in glyphs if x - 0.5 <= g[0] and g[1] <= x + w + 0.5 and 0 < y - g[2] < 12]
            assert above and below, (x, y)
            for part in (above, below):
                # the part's nearest line only: its baseline is the one closest to the bar
                base = min(part, key=lambda g: abs(g[2] - y))[2]
                line = [g for g in part if abs(g[2] - base) < 4.5]
                lo, hi = min(g[0] for g in line), max(g[1] for g in line)
                assert abs((lo + hi) / 2 - (x + w / 2)) < 0.6, (x, y, lo, hi)
            checked += 1
    assert checked >= 20  # the classic key stacks every derivative and every 1/(1 + e^-x)


def test_answer_boxes_are_large_enough_to_write_in(classic_exam):
    m = classic_exam
    for paper in ("a4", "letter"):
        data = render_sheet(m, m.students[0], paper=paper)
        boxes = [r for _, _, strokes, _ in marks(data) for r in strokes if r[3] > 20]
        assert len(boxes) == len(m.questions)
        for x, y, w, h in boxes:
            assert w >= 45 * mm and h >= 9 * mm
            assert x >= MARGIN - 0.5 and x + w <= PAPERS[paper][0] - MARGIN + 0.5


def test_instructions_stack_the_logistic_function(classic_exam):
    m = classic_exam
    glyphs, fills, _, _ = marks(render_sheet(m, m.students[0]))[0]
    bars = [f for f in fills if 0.3 < f[3] < 0.8]
    assert len(bars) >= 3  # σ(x) = 1/(1 + e^-x) in two layers, ∂E/∂w in the update rule


def _page_fill(data: bytes, paper: str):
    """Per page: the lowest point of its content above the footer, as a share of the frame's height."""
    height = PAPERS[paper][1]
    out = []
    for glyphs, fills, strokes, paths in marks(data):
        ys = ([g[2] for g in glyphs if g[2] > MARGIN] + [r[1] for r in fills + strokes if r[1] > MARGIN - 1]
              + [p[1] for p in paths if p[1] > MARGIN - 1])
        out.append((height - MARGIN - min(ys)) / (height - 2 * MARGIN))
    return out


@pytest.mark.parametrize("space", ["below", "end"])
def test_no_sheet_page_is_left_half_empty(space):
    for bank, _ in bundled_banks():
        m = generate(load_bank(bank), "fill", class_ids(1))
        m = dataclasses.replace(m, bank={**m.bank, "working_space": space})
        for paper in ("a4", "letter"):
            fill = _page_fill(render_sheet(m, m.students[0], paper=paper), paper)
            assert all(f > 0.5 for f in fill), (bank, paper, fill)


def test_working_space_option(classic_exam):
    m = classic_exam
    counts = {}
    for space in ("below", "end", "none"):
        mm_ = dataclasses.replace(m, bank={**m.bank, "working_space": space})
        counts[space] = len(pypdf.PdfReader(io.BytesIO(render_sheet(mm_, m.students[0]))).pages)
    assert counts["none"] == 2 and counts["below"] > counts["none"] and counts["end"] > counts["none"]
    data = dict(load_bank("classic").data, working_space="margin")
    with pytest.raises(NnexamError, match="key 'working_space': expected one of below, end, none"):
        parse_bank(data, "mine.toml", "mine")
    assert load_bank("classic").data.get("working_space", "below") == "below"


def test_labels_keep_the_compact_slash_form():
    # Tables, answer boxes and the diagram set names in one line, as TeX's running text writes ∂E/∂w.
    assert text_of(word(r"\frac{\partial E_{total}}{\partial w_{5}}")).replace(" ", "") == "∂Etotal/∂w5"
    assert text_of(word(r"\frac{1}{1 + e^{-x}}")).replace(" ", "") == "1/(1+e−x)"
    assert text_of(word(r"\frac{1}{2}")) == "½"
    assert not any(f == RULE for _, f, *_ in word(r"\frac{a}{b}"))


def test_a_working_area_stays_on_the_page_of_its_task():
    # Found by looking at the classic A4 sheet: task 5's working area was pushed alone to the top of
    # page 3, under no task, where it reads as room for task 6. With "below", every page's grid must
    # lie under an answer box on the same page (the boxes are the stroked rectangles > 20 pt tall,
    # the grid the lines drawn with m/l below page 1's diagram).
    for bank, _ in bundled_banks():
        m = generate(load_bank(bank), "fill", class_ids(1))
        for paper in ("a4", "letter"):
            pages = marks(render_sheet(m, m.students[0], paper=paper))
            for n, (_, _, strokes, paths) in enumerate(pages[1:], 2):
                boxes = [r[1] + r[3] for r in strokes if r[3] > 20]
                grid = [p[1] for p in paths]
                if grid:
                    assert boxes and max(boxes) > max(grid), (bank, paper, n)


def test_a_working_area_before_a_page_break_takes_the_rest_of_its_page():
    # Found on the classic A4 sheet: when the next task went to a new page, a fifth of the page
    # stayed blank under a 30 mm working area. With "below", on every page with a grid (horizontal
    # lines over 150 mm long, 5 mm apart; drawn as m/l pairs) its lowest line is within one grid
    # square of the bottom of the frame.
    for bank, _ in bundled_banks():
        m = generate(load_bank(bank), "fill", class_ids(1))
        for paper in ("a4", "letter"):
            for n, (_, _, _, paths) in enumerate(marks(render_sheet(m, m.students[0], paper=paper)), 1):
                rules = {round(a[1], 1) for a, b in zip(paths, paths[1:]) if a[1] == b[1] and b[0] - a[0] > 150 * mm}
                grid = [y for y in rules if any(abs(y + 5 * mm - z) < 0.2 for z in rules)]
                if grid:
                    assert min(grid) - MARGIN < 5 * mm + 3, (bank, paper, n, (min(grid) - MARGIN) / mm)


def test_a_task_taller_than_half_a_page_starts_where_the_last_one_ended():
    # Found on an 8-8-8 sheet: task 1 (32 boxes, most of a page) waited for a page of its own to
    # keep its working area with it, leaving page 2 almost half empty under the given values. A
    # task that tall splits its boxes across pages anyway: every page is filled to within about one
    # row of answer boxes (20 mm, 8 % of the frame) of its bottom.
    from test_render import shaped, synthetic

    m = synthetic(shaped([8, 8, 8], ["sigmoid", "sigmoid"], "half_sse"), n=1)
    for paper in ("a4", "letter"):
        fill = _page_fill(render_sheet(m, m.students[0], paper=paper), paper)
        assert all(f > 0.9 for f in fill), (paper, fill)
