"""The two documents of a student: the exercise sheet (no answers) and the answer key (worked solution).

Everything that depends only on the exam (labels, formulas, the diagram's geometry, which steps
the key shows) is computed once per manifest and cached; each student adds only their numbers.
"""

from __future__ import annotations

import io
from itertools import groupby
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import numpy as np
from reportlab import rl_config
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import BaseDocTemplate, CondPageBreak, Frame, PageTemplate, Spacer

from ..errors import NnexamError
from ..fonts import register_fonts
from ..graph import StepGraph, TASKS
from ..manifest import Manifest, Question, StudentVariant
from ..notation import Label, weight_numbers
from ..present import (TASK_TITLES, chain_line, exact_note, fmt, fmt_given, layer_name, parts, sections, worked_line, worked_note,
                       worked_values)
from ..solve import evaluate
from .blocks import (GREY, AnswerBoxes, AnswerRow, AnswerTable, Blank, Header, HeaderInfo, Heading, ValueGrid,
                     WorkSpace, fitted, text)
from .diagram import MAX_HEIGHT, NetworkDiagram, diagram_height, layout, value_width
from .typeset import SANS, SANS_BOLD, MathLine, draw_text, draw_word, minus, plain, speed_up_fonts, word, word_width, words

PAPERS = {"a4": A4, "letter": LETTER}
MARGIN = 17 * mm

ACTIVATION_DEFINITIONS = {
    "sigmoid": r"\sigma(x) = \frac{1}{1 + e^{-x}}",
    "tanh": r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
    "relu": r"\operatorname{relu}(x) = \operatorname{max}(0, x)",
    "leaky_relu": r"\operatorname{lrelu}(x) = x \text{ if } x > 0 \text{, else } {slope}x",
}


def fmt_points(p: float) -> str:
    return f"{p:g}"


def points_note(total: float) -> str:
    return f"{fmt_points(total)} point" + ("" if total == 1 else "s")


@dataclass(frozen=True)
class Exam:
    """What every student's documents share: labels, grouped questions, layouts; built once per manifest."""

    manifest: Manifest
    graph: StepGraph
    latex: Mapping[str, str]
    labels: Mapping[str, Label]
    tasks: tuple[tuple[str, tuple[tuple[str, Question], ...]], ...]  # (heading, ((number, question), ...)) in sheet order
    shown: frozenset[str]  # steps the key works out: the asked ones and everything they need
    decimals: int
    value_widths: tuple[tuple[str, float], ...]
    rules: tuple  # instruction formulas (words), shared by every student
    value_names: frozenset[str] = frozenset()  # the given values' names (the diagram prints them)
    budgets: dict = field(default_factory=dict)  # (document, width, height, title) -> where the diagram goes


_EXAM: list = [None, None]


def exam_of(manifest: Manifest) -> Exam:
    """The shared part of a manifest's documents (cached for the last manifest seen)."""
    if _EXAM[0] is manifest:
        return _EXAM[1]
    register_fonts()
    speed_up_fonts()
    graph = manifest.graph
    labels = manifest.labels()
    latex = {k: v.latex for k, v in labels.items()}
    # One sheet task per run of questions of one bank task, in the manifest's (sheet) order: a bank
    # may ask a task twice (the output layer's new weights, then the hidden layer's after its
    # gradients), and merging the two would ask w1' before dE/dw1.
    runs = [(task, list(qs)) for task, qs in groupby(
        manifest.questions, key=lambda q: q.task if q.task in TASKS else graph[q.name].task)]
    repeated = {task for task, _ in runs if sum(t == task for t, _ in runs) > 1}
    tasks = tuple(
        (_task_title(graph, task, qs, task in repeated), tuple((f"{t}.{i}", q) for i, q in enumerate(qs, 1)))
        for t, (task, qs) in enumerate(runs, 1)
    )
    shown = _needed(graph, tuple(q.name for q in manifest.questions))
    decimals = max((q.decimals for q in manifest.questions), default=4)
    givens = manifest.givens()
    widths = tuple((n, max(value_width(minus(fmt_given(float(v)))) for v in givens[n])) for n in graph.arch.given_names())
    exam = Exam(manifest, graph, latex, labels, tasks, shown, decimals, widths, _rules(graph, latex),
                frozenset(graph.arch.given_names()))
    _EXAM[0], _EXAM[1] = manifest, exam
    return exam


@lru_cache(maxsize=16)
def _needed(graph: StepGraph, asked: tuple[str, ...]) -> frozenset[str]:
    need: set[str] = set()
    todo = [n for n in asked if n in graph]
    while todo:
        n = todo.pop()
        if n in need or n not in graph:
            continue
        need.add(n)
        todo.extend(graph[n].inputs)
    return frozenset(need)


def _rules(graph: StepGraph, latex: Mapping[str, str]) -> tuple:
    """The instruction formulas: each layer's pre-activation and activation, the loss, the update."""
    arch = graph.arch
    lines = []

    def formula(name: str) -> str:
        return graph[name].expr.render("latex", lambda n: latex[n])

    for l in range(1, arch.depth + 1):
        act = arch.activations[l - 1]
        caption = layer_name(arch, l)
        caption = caption[0].upper() + caption[1:]
        z, a = f"z{l}_1", f"a{l}_1"
        f = [f"{latex[z]} = {formula(z)}", f"{latex[a]} = {formula(a)}"]
        if act in ACTIVATION_DEFINITIONS:
            f.append(ACTIVATION_DEFINITIONS[act].replace("{slope}", f"{arch.leaky_slope:g}"))
        note = "and likewise for every neuron" if arch.layers[l] > 1 else ""
        lines.append((caption, f, note))
    lw = [f"{latex['E_1']} = {formula('E_1')}", f"{latex['E']} = {formula('E')}"]
    lines.append(("Loss", lw, "one term per output" if arch.layers[-1] > 1 else ""))
    w = "w1_1_1_new"
    upd = [f"{latex[w]} = {formula(w)}"]
    if arch.bias != "none":
        b = arch.bias_names()[0]
        upd.append(f"{latex[b + '_new']} = {formula(b + '_new')}" if arch.update_biases else "")
    note = "for every weight" + (" and bias" if arch.update_biases and arch.bias != "none" else
                                 "; biases stay as they are" if arch.bias != "none" else "")
    lines.append(("Update", [u for u in upd if u], note))
    return tuple((cap, tuple(f), note) for cap, f, note in lines)


def _doc(paper: str, title: str, subject: str, author: str, footer: str, kind: str) -> tuple[BaseDocTemplate, io.BytesIO]:
    if paper not in PAPERS:
        raise NnexamError(f"paper '{paper}': expected one of {', '.join(PAPERS)}")
    buf = io.BytesIO()
    size = PAPERS[paper]
    doc = BaseDocTemplate(buf, pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                          bottomMargin=MARGIN, title=title, subject=subject, author=author, creator="nnexam",
                          invariant=1, pageCompression=1, initialFontName=SANS, initialFontSize=9)
    frame = Frame(MARGIN, MARGIN, size[0] - 2 * MARGIN, size[1] - 2 * MARGIN, 0, 0, 0, 0, id="body")

    # The left footer (name, id, variant; any script) shrinks, then is cut, before it would run into the page number.
    room = size[0] - 2 * MARGIN - stringWidth(f"{kind} · page 999", SANS, 7) - 12
    footer_word, footer_size = fitted(footer, SANS, 7, room, 5.5)

    def furniture(canvas, d):
        canvas.saveState()
        draw_word(canvas, MARGIN, MARGIN * 0.5, footer_word, footer_size, GREY)
        draw_text(canvas, size[0] - MARGIN, MARGIN * 0.5, f"{kind} · page {d.page}", SANS, 7, GREY, "right")
        canvas.restoreState()

    doc.addPageTemplates([PageTemplate("page", [frame], onPage=furniture)])
    return doc, buf


def _header(exam: Exam, student: StudentVariant, kind: str, title: str | None) -> list:
    m = exam.manifest
    fields = [("Name", student.name or "—"), ("Student ID", student.id), ("Variant", student.variant)]
    if m.date:
        fields.append(("Date", m.date))
    return [Header(HeaderInfo(m.course, title or m.title or "Backpropagation exercise", kind, tuple(fields))),
            Spacer(0, 8)]


def _printed_givens(exam: Exam, student: StudentVariant) -> dict[str, str]:
    return {n: minus(fmt_given(float(v[0]))) for n, v in student.network.givens().items()}


def _layout(exam: Exam, width: float, max_height: float):
    keys = [n for n in exam.latex if n in exam.value_names or n.startswith("a")]
    return layout(exam.graph.arch, tuple((k, exam.latex[k]) for k in sorted(keys)), exam.value_widths, round(width, 1),
                  float(int(max_height)))


def _diagram(exam: Exam, givens: Mapping[str, str], width: float, max_height: float = MAX_HEIGHT) -> NetworkDiagram:
    return NetworkDiagram(exam.graph.arch, _layout(exam, width, max_height), exam.latex, givens)


def _stack_height(flowables: list, width: float) -> float:
    return sum(f.wrap(width, 1e6)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in flowables)


def _diagram_room(exam: Exam, kind: str, width: float, height: float, above: list, before: list) -> tuple[bool, float]:
    """Where the diagram goes on page 1 and how tall it may be: (after `before`?, height budget).

    Under the instructions if it fits in the room left there as well as it would under the header
    (values on the edges, labels not squeezed); else straight under the header, so that page 1 is
    not left half empty. Measured once per exam: header and instructions are as tall for everyone.
    """
    key = (kind, round(width, 1), round(height, 1), above[0].info.title)  # a title may wrap to more lines
    if key not in exam.budgets:
        top = _stack_height(above, width) + 12
        room = height - top - _stack_height(before, width)
        if before and room >= diagram_height(exam.graph.arch, 1.0):
            lay, under = _layout(exam, width, room), _layout(exam, width, height - top)
            if not lay.squeezed and (lay.edges[0].with_value or not under.edges[0].with_value):
                exam.budgets[key] = (True, room)
        exam.budgets.setdefault(key, (not before, height - top))
    return exam.budgets[key]


def _givens_table(exam: Exam, givens: Mapping[str, str]) -> list:
    arch = exam.graph.arch

    def cell(n: str):
        return word(exam.latex[n]) + plain(" = " + givens[n])

    groups = [("Inputs", [f"x_{k}" for k in range(1, arch.layers[0] + 1)]),
              ("Targets", [f"t_{j}" for j in range(1, arch.layers[-1] + 1)]),
              ("Learning rate", ["eta"])]
    numbers = weight_numbers(arch, exam.manifest.notation)  # w1, w2, w3, w4 as the course numbers them
    for l in range(1, arch.depth + 1):
        names = sorted((n for n in arch.weight_names() if n.startswith(f"w{l}_")), key=numbers.__getitem__)
        groups.append((f"Weights into {layer_name(arch, l)}", names))
    if arch.bias != "none":
        groups.append(("Biases", list(arch.bias_names())))
    caption_w = max(stringWidth(cap, SANS, 8.5 * 0.9) for cap, _ in groups) + 12
    # One column grid for the whole table, as wide as the widest cell any student can have (the
    # targets, long names in some notations, set their own), so columns line up from row to row.
    vw = dict(exam.value_widths)
    eq = word_width(plain(" = "), 8.5)

    def widest(names) -> float:
        return max(word_width(word(exam.latex[n]), 8.5) + eq + vw.get(n, 0.0) * 8.5 for n in names) + 12

    grid = max(widest(names) for cap, names in groups if cap != "Targets")
    out = [Heading("Given values", size=10.5, space_before=4)]
    out += [ValueGrid(cap, [cell(n) for n in names], caption_w=caption_w,
                      cell_w=widest(names) if cap == "Targets" else grid) for cap, names in groups]
    return out


def _instructions(exam: Exam) -> list:
    d = {q.decimals for q in exam.manifest.questions}
    rounding = (f"Round every answer to {d.pop()} decimal places" if len(d) == 1
                else "Round every answer to the decimals stated in its task")
    out = [Heading("Instructions", size=10.5, space_before=2),
           text(f"Work out the values asked below by hand, one step at a time. {rounding} (truncating is also "
                "accepted) and write it in its box; you may go on from your own rounded earlier answers. "
                "If you hand in a CSV file, use the column name printed under each box.", 8.8),
           Spacer(0, 3)]
    for caption, formulas, note in exam.rules:
        ws = [plain(caption + ":", SANS_BOLD)]
        for i, f in enumerate(formulas):
            ws += list(words(f))  # display style, as a LaTeX author sets these rules
            if i < len(formulas) - 1:
                ws[-1] = ws[-1] + plain(",")
        if note:
            ws += [plain(w, SANS) for w in f"({note})".split(" ")]
        out.append(MathLine(ws, 9.0, hang=14.0))
    return out


def _task_title(graph, task: str, qs: list[Question], repeated: bool) -> str:
    """The task's heading; a task asked in several places names its layers."""
    title = TASK_TITLES.get(task, task)
    layers = sorted({graph[q.name].layer for q in qs})
    if repeated and layers and layers[0] > 0:
        title += " (" + ", ".join(layer_name(graph.arch, l) for l in layers) + ")"
    return title


def working_space(manifest: Manifest) -> str:
    """The bank's working_space option: "below" every task (default), "end" (a page at the end) or "none"."""
    return manifest.bank.get("working_space", "below")


WORK_BELOW = 30 * mm  # room under each task


class _KeepRoom(CondPageBreak):
    """A page break unless the task's heading and boxes fit, plus `extra` (the least of its working area).

    So a working area never starts a page apart from its task, where it would read as the next one's.
    """

    def __init__(self, task: list, extra: float, page: float, least: float = 70.0):
        super().__init__(least)
        self.task, self.extra, self.page, self.least = task, extra, page, least

    def room(self, width: float) -> float:
        need = _stack_height(self.task, width) + self.extra
        # A task taller than half a page splits its boxes across pages anyway: it starts where it is.
        return self.least if need > 0.5 * self.page else max(self.least, need)

    def wrap(self, availWidth, availHeight):
        self.height = self.room(availWidth)
        return super().wrap(availWidth, availHeight)


def _tasks(exam: Exam, height: float = 700.0) -> list:
    space = working_space(exam.manifest)
    out = []
    for t, (title, numbered) in enumerate(exam.tasks, 1):
        total = sum(q.points for _, q in numbered)
        equal = len({q.points for _, q in numbered}) == 1
        task = [Heading(f"Task {t}. {title}", points_note(total), size=10.5)]
        blanks = [Blank(num, word(exam.latex[q.name]), q.label,
                        "" if equal and len(numbered) > 1 else points_note(q.points)) for num, q in numbered]
        if equal and len(numbered) > 1:
            task.append(text(f"{points_note(numbered[0][1].points)} each", 7.5))
        task.append(AnswerBoxes(blanks))
        if space == "below":
            last = t == len(exam.tasks)
            work = WorkSpace(WORK_BELOW, fill=last)  # the last one takes the rest of the page
            # A working area takes what is left of a page down to 3/5 of its height (WorkSpace.wrap).
            keep = _KeepRoom(task, 0.6 * WORK_BELOW + work.getSpaceBefore() + 1, height)
            if out:
                out[-1].then = keep  # the previous task's working area
            out += [keep] + task + [work]
        else:
            out += [CondPageBreak(70)] + task
    if space == "end":
        out.append(WorkSpace(0.5 * height, fill=True))  # the rest of the page if half of it is left, else a page
    return out


def sheet_story(exam: Exam, student: StudentVariant, width: float, title: str | None, height: float = 0.0) -> list:
    givens = _printed_givens(exam, student)
    header = _header(exam, student, "Exercise sheet", title)
    instructions = _instructions(exam)
    after, room = _diagram_room(exam, "sheet", width, height, header, instructions) if height else (True, MAX_HEIGHT)
    diagram = [Spacer(0, 6), _diagram(exam, givens, width, room), Spacer(0, 2)]
    # A diagram too tall for the room under the instructions goes first, so page 1 is not left half empty.
    story = header + (instructions + diagram if after else diagram + [CondPageBreak(60)] + instructions)
    story += _givens_table(exam, givens)
    story += _tasks(exam, height or 700.0)
    return story


# --- the key ---------------------------------------------------------------------------------


_VALUES: list = [None, None]


def student_values(exam: Exam, student: StudentVariant) -> dict[str, float]:
    """Every step's value for one student: the whole class solved at once, vectorized, then cached."""
    m = exam.manifest
    if _VALUES[0] is not m:
        values = evaluate(exam.graph, m.givens())
        index = {id(s): i for i, s in enumerate(m.students)}
        _VALUES[0], _VALUES[1] = m, (values, index)
    values, index = _VALUES[1]
    i = index.get(id(student))
    if i is None:  # a student not in this manifest: solve alone
        values, i = evaluate(exam.graph, student.network.givens()), 0
    return {k: v[i:i + 1] for k, v in values.items()}


def _chain(exam: Exam, name: str, values: Mapping[str, np.ndarray], exact: Mapping[str, np.ndarray]) -> list:
    """∂E/∂w along its chain (present.chain_line) with the number of each factor, as seeds/003 puts them together."""
    line = chain_line(exam.graph, name, values, exam.labels, exam.decimals, "latex", exact=exact)
    shown = f"{line.name} = {line.formula} = {line.substituted} = {line.result}" + exact_note(line, "latex")
    return [CondPageBreak(48), text("Chain rule, written out for this layer:", 8.0, indent=22),
            MathLine(words(shown), 9.3, indent=22)]


def _answers(exam: Exam, student: StudentVariant, values: Mapping[str, np.ndarray]) -> list:
    rows = []
    for _, numbered in exam.tasks:
        for num, q in numbered:
            v = float(values[q.name][0])
            rows.append(AnswerRow(num, word(exam.latex[q.name]), q.label, minus(fmt(v, q.decimals)), fmt_points(q.points)))
    total = sum(q.points for q in exam.manifest.questions)
    return [Heading("Answers", points_note(total), size=10.5), AnswerTable(rows)]


def _worked(exam: Exam, values: Mapping[str, np.ndarray]) -> list:
    graph, labels = exam.graph, exam.labels
    givens = frozenset(graph.arch.given_names())
    tags = {q.name: num for _, numbered in exam.tasks for num, q in numbered}
    chain = worked_values(graph, values, exam.decimals)  # the lines show the rounded chain; `values` are exact
    out = [CondPageBreak(90), Heading("Worked solution", size=12, space_before=10),
           text(worked_note(exam.decimals, "The answers above are the exact values.")
                + " Numbers in the margin are the task numbers of asked values.", 8.0)]
    chained: set[int] = set()
    for title, steps in sections(graph):
        steps = [s for s in steps if s.name in exam.shown]
        if not steps:
            continue
        out += [CondPageBreak(60), Heading(title, size=9.8, space_before=7)]
        section = []
        for s in steps:
            if s.kind == "dE_dw" and s.layer not in chained:
                chained.add(s.layer)
                section += _chain(exam, s.name, chain, values)
            line = worked_line(s, chain, labels, exam.decimals, "latex", givens=givens, exact=values)
            *head, result = parts(line)
            # The result in bold; where the rounded chain differs from the exact value, the exact one after it.
            ws = words(" = ".join(head) + f" = \\mathbf{{{result}}}" + exact_note(line, "latex"))
            section.append(MathLine(ws, 9.3, indent=22, tag=tags.get(s.name, "")))
        _align(section)
        out += section
    return out


def _align(flowables: list, most: float = 150.0) -> None:
    """Line up the first "=" of a section's formulas, as amsmath's align* does (left sides up to `most` wide)."""
    lines = [f for f in flowables if isinstance(f, MathLine) and f.math and len(f.ws) > 1]
    lead = max((w for w in (word_width(f.ws[0], f.size) for f in lines) if w <= most), default=0.0)
    for f in lines:
        f.lead = lead


def key_story(exam: Exam, student: StudentVariant, width: float, title: str | None, height: float = 0.0) -> list:
    givens = _printed_givens(exam, student)
    values = student_values(exam, student)
    story = _header(exam, student, "Answer key", title)
    room = _diagram_room(exam, "key", width, height, story, [])[1] if height else MAX_HEIGHT
    story += [_diagram(exam, givens, width, room), Spacer(0, 2)]
    story += _givens_table(exam, givens)
    story += [Spacer(0, 6)] + _answers(exam, student, values)
    story += _worked(exam, values)
    return story


def build(story_of, manifest: Manifest, student: StudentVariant, paper: str, title: str | None, kind: str) -> bytes:
    exam = exam_of(manifest)
    shown_title = title or manifest.title or "Backpropagation exercise"
    who = f"{student.name} ({student.id})" if student.name else student.id
    doc, buf = _doc(paper, f"{shown_title}: {kind.lower()}, {who}", kind, manifest.course or "nnexam",
                    f"{who} · variant {student.variant}", kind)
    # Binary (Flate only) streams: reportlab's pure-Python ASCII85 step costs a fifth of the time.
    saved, rl_config.useA85 = rl_config.useA85, 0
    try:
        doc.build(story_of(exam, student, doc.width, title, doc.height))
    finally:
        rl_config.useA85 = saved
    return buf.getvalue()
