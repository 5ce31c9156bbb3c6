"""What every LMS quiz export and response reader shares: the question's HTML, numbers as text,
respondents and attempts.

A quiz hands out the variants of a pool exam (`nnexam generate --pool N`) at random, one question
per variant; each question prints its variant code, so the code comes back with the answers.
The readers turn a response report into the submissions table the grader reads
(`student_id, variant, name, attempt, <one column per answer label>`), keeping each row's line in
the report, so that every message names the report's own line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence
from xml.sax.saxutils import escape

import numpy as np

from ..errors import NnexamError
from ..grade import IDENTITY_PREFIX
from ..manifest import Manifest
from ..present import TASK_TITLES, fmt_given, layer_name, worked_text
from ..roster import cell
from ..solve import evaluate
from ..table import Table, header_key
from .svg import diagram_svg

ACTIVATIONS = {"sigmoid": "σ(x) = 1/(1 + e^(−x))", "tanh": "tanh(x) = (e^x − e^(−x))/(e^x + e^(−x))",
               "relu": "relu(x) = max(0, x)", "leaky_relu": "lrelu(x) = x if x > 0, else {slope}·x"}
CODE_PREFIX = "Variant code"
ATTEMPTS = ("first", "last", "best")


@dataclass(frozen=True)
class QuizOptions:
    """Export choices: the quiz's name, and decimal commas accepted beside points (Canvas compares strings)."""

    title: str | None = None
    decimal_comma: bool = False


def require_pool(manifest: Manifest, lms: str) -> None:
    """A roster exam cannot be a quiz: an LMS hands questions out at random, not one named variant per student."""
    if manifest.kind != "pool":
        raise NnexamError(
            f"this is a roster exam (one variant per named student); a {lms} quiz hands variants out at random, so "
            f"generate a pool for it (`nnexam generate BANK --seed S --pool N`, then `nnexam export` that folder), "
            f"or collect this exam's answers with submission_template.csv")


def quiz_title(manifest: Manifest, options: QuizOptions) -> str:
    return options.title or manifest.title or f"nnexam {manifest.bank_name} {manifest.seed}"


# --- numbers as text ----------------------------------------------------------------------------


def plain(x: float) -> str:
    """The shortest decimal that reads back as x, never in exponent form (Moodle and Canvas read both; people read this)."""
    s = np.format_float_positional(float(x), unique=True, trim="-")
    return "0" if s in ("-0", "") else s


def typed_forms(value: float, decimals: int, decimal_comma: bool = False) -> list[str]:
    """Every way a student writes one number at `decimals` decimals: 0.5930, 0.593, .5930, .593 (and 0,5930 ...)."""
    s = f"{value:.{decimals}f}"
    if float(s) == 0:
        s = s.lstrip("-")
    forms = [s]
    if "." in s:
        trimmed = s.rstrip("0").rstrip(".")
        forms.append(trimmed if trimmed not in ("", "-") else "0")
    for f in list(forms):
        sign, body = ("-", f[1:]) if f.startswith("-") else ("", f)
        if body.startswith("0.") and len(body) > 2:
            forms.append(sign + body[1:])  # .5933
    if decimal_comma:
        forms += [f.replace(".", ",") for f in forms if "." in f]
    return list(dict.fromkeys(forms))


def accepted_strings(key: float, low: float, high: float, decimals: int, decimal_comma: bool = False) -> list[str]:
    """Every string at `decimals` decimals (in every form of typed_forms) whose value lies in [low, high],
    the key rounded and truncated first."""
    scale = 10 ** decimals
    first = int(np.ceil(round(low * scale, 6)))
    last = int(np.floor(round(high * scale, 6)))
    steps = [k for k in range(first, last + 1) if low <= k / scale <= high]
    rounded = round(key * scale)
    truncated = int(np.trunc(key * scale))
    order = sorted(set(steps), key=lambda k: (k != rounded, k != truncated, abs(k - key * scale), k))
    out: list[str] = []
    for k in order:
        out += [f for f in typed_forms(k / scale, decimals, decimal_comma) if f not in out]
    return out


# --- the question text --------------------------------------------------------------------------


def rules_text(manifest: Manifest) -> list[str]:
    """The instruction formulas in Unicode text: each layer's pre-activation and activation, the loss, the update."""
    graph, labels = manifest.graph, manifest.labels()
    arch = graph.arch

    def formula(name: str) -> str:
        return f"{labels[name].text} = {graph[name].expr.render('text', lambda n: labels[n].text)}"

    lines = []
    for l in range(1, arch.depth + 1):
        act = arch.activations[l - 1]
        caption = layer_name(arch, l)
        parts = [formula(f"z{l}_1"), formula(f"a{l}_1")]
        if act in ACTIVATIONS:
            parts.append(ACTIVATIONS[act].replace("{slope}", f"{arch.leaky_slope:g}"))
        more = " (and likewise for every neuron)" if arch.layers[l] > 1 else ""
        lines.append(f"{caption[0].upper()}{caption[1:]}: " + ", ".join(parts) + more)
    lines.append("Loss: " + formula("E_1") + ", " + formula("E"))
    lines.append("Update: " + formula("w1_1_1_new") + " for every weight"
                 + (" and bias" if arch.update_biases and arch.bias != "none" else ""))
    return lines


def _rounding(manifest: Manifest) -> str:
    d = {q.decimals for q in manifest.questions}
    what = f"to {d.pop()} decimal places" if len(d) == 1 else "to the decimals stated beside it"
    return (f"Round every answer {what} (truncating is also accepted) and type it in its box with a decimal point; "
            "you may go on from your own rounded earlier answers.")


def givens_rows(manifest: Manifest, i: int) -> list[tuple[str, str]]:
    """(printed name, value as the sheet prints it) for every given value of variant i."""
    labels = manifest.labels()
    names = manifest.arch.given_names()
    return [(labels[n].text if n in labels else n, fmt_given(v)) for n, v in zip(names, manifest.students[i].givens)]


def diagram(manifest: Manifest, i: int) -> bytes:
    """Variant i's network diagram as SVG bytes."""
    labels = manifest.labels()
    names = {n: lab.text for n, lab in labels.items()}
    names.update({n: n.replace("_", "") for n in manifest.arch.given_names() if n not in names})
    values = dict(givens_rows_by_name(manifest, i))
    return diagram_svg(manifest.arch, names, values)


def givens_rows_by_name(manifest: Manifest, i: int) -> list[tuple[str, str]]:
    return [(n, fmt_given(v)) for n, v in zip(manifest.arch.given_names(), manifest.students[i].givens)]


def question_html(manifest: Manifest, i: int, gap: Callable[[int], str], image_src: str, title: str) -> str:
    """Variant i's question as HTML: code, instructions, diagram, givens table, one gap per answer beside its label."""
    v = manifest.students[i]
    out = [f"<p><strong>{CODE_PREFIX}: {escape(v.variant)}</strong> ({escape(title)}, {escape(v.id)})</p>",
           f"<p>{escape(_rounding(manifest))}</p>",
           "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in rules_text(manifest)) + "</ul>",
           f'<p><img src="{escape(image_src)}" alt="The network with its given values" /></p>',
           '<table border="1" cellpadding="4"><thead><tr><th>given</th><th>value</th></tr></thead><tbody>'
           + "".join(f"<tr><td>{escape(n)}</td><td>{escape(x)}</td></tr>" for n, x in givens_rows(manifest, i))
           + "</tbody></table>"]
    task = None
    rows: list[str] = []
    for qi, q in enumerate(manifest.questions):
        if q.task != task:
            if rows:
                out.append('<table cellpadding="4"><tbody>' + "".join(rows) + "</tbody></table>")
                rows = []
            task = q.task
            out.append(f"<h4>{escape(TASK_TITLES.get(q.task, q.task))}</h4>")
        pts = f"{q.points:g} point" + ("" if q.points == 1 else "s")
        rows.append(f"<tr><td><code>{escape(q.label)}</code></td><td>{gap(qi)}</td><td>({pts})</td></tr>")
    if rows:
        out.append('<table cellpadding="4"><tbody>' + "".join(rows) + "</tbody></table>")
    return "\n".join(out)


def worked_solutions(manifest: Manifest) -> list[str]:
    """The worked solution of every variant as plain text (present.worked_text)."""
    graph, labels = manifest.graph, manifest.labels()
    values = evaluate(graph, manifest.givens())
    n = len(manifest.students)
    counts = {}
    for q in manifest.questions:
        counts[q.decimals] = counts.get(q.decimals, 0) + 1
    decimals = max(counts, key=lambda d: (counts[d], -d)) if counts else 4
    full = {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in values.items()}
    return [worked_text(graph, {k: v[i:i + 1] for k, v in full.items()}, labels, decimals) for i in range(n)]


# --- response reports -> the submissions table --------------------------------------------------


_CODE = re.compile(r"[0-9A-Z]{4,12}")
_AFTER_PREFIX = re.compile(re.escape(CODE_PREFIX.upper()) + r":?\s*([0-9A-Z]{4,12})")


def find_variant(text: str, codes: Mapping[str, int]) -> str:
    """The variant code of this exam printed in a text (a question's summary or a column header), or ''."""
    upper = text.upper()
    m = _AFTER_PREFIX.search(upper)
    if m and m.group(1) in codes:
        return m.group(1)
    for token in _CODE.findall(upper):
        if token in codes:
            return token
    return ""


def variant_codes(manifest: Manifest) -> dict[str, int]:
    return {s.variant.upper(): i for i, s in enumerate(manifest.students)}


def column(header: Sequence[str], *names: str) -> int | None:
    """The first column whose header matches one of `names` (ignoring case, spaces and punctuation)."""
    keys = [header_key(h) for h in header]
    for n in names:
        k = header_key(n)
        if k in keys:
            return keys.index(k)
    return None


def respondent(row: Sequence[str], id_columns: Sequence[int | None], name_columns: Sequence[int | None]) -> tuple[str, str]:
    """(id, name) of a report row: the first non-blank identity column; the name from the name columns."""
    name = " ".join(p for p in (cell(row, c) for c in name_columns) if p)
    for c in id_columns:
        v = cell(row, c)
        if v and v != "-":
            return v, name
    return name, name


SUBMISSION_HEADER = ("student_id", "variant", "name", "attempt")


def submissions_table(source: Table, manifest: Manifest, entries: Sequence[tuple[int, str, str, str, Sequence[str]]],
                      what: str, when: Sequence[float] | None = None,
                      identity: Mapping[str, int | None] | None = None) -> Table:
    """The submissions table from (row index in `source`, respondent id, name, variant, answers per question).

    Each respondent's attempts are numbered 1, 2, ... in the order of `when` (a time per entry,
    NaN when unknown), else in file order; the rows stay in file order. `identity` names the
    report's identity columns ({"ID": column of Canvas's user id, ...}; absent ones None): each
    becomes an "identity:<name>" column after the answers, which the grader carries to the grade files.
    """
    kept = {name: c for name, c in (identity or {}).items() if c is not None}
    header = (SUBMISSION_HEADER + tuple(q.label for q in manifest.questions)
              + tuple(IDENTITY_PREFIX + name for name in kept))
    order = sorted(range(len(entries)), key=lambda e: (when[e] if when is not None and when[e] == when[e] else float("inf"), e))
    number, seen = [0] * len(entries), {}
    for e in order:
        sid = entries[e][1]
        seen[sid] = seen.get(sid, 0) + 1
        number[e] = seen[sid]
    rows, lines = [], []
    for e, (r, sid, name, variant, answers) in enumerate(entries):
        row = source.rows[r]
        rows.append((sid, variant, name, str(number[e])) + tuple(answers)
                    + tuple(_no_dash(cell(row, c)) for c in kept.values()))
        lines.append(source.lines[r])
    warnings = source.warnings + (f"{source.source}: read as {what}",)
    return replace(source, header=header, rows=tuple(rows), lines=tuple(lines), warnings=warnings)


def _no_dash(value: str) -> str:
    """An identity cell as `respondent` reads it: Moodle's '-' is no value."""
    return "" if value == "-" else value


def layout_note(table: Table) -> str:
    """The 'read as ...' line a reader left in the table's warnings ('' for a plain submissions file)."""
    for w in table.warnings:
        if w.startswith(f"{table.source}: read as "):
            return w[len(f"{table.source}: read as "):]
    return ""


def without_layout_note(table: Table) -> Table:
    return replace(table, warnings=tuple(w for w in table.warnings if not w.startswith(f"{table.source}: read as ")))


def attempt_rows(table: Table, mode: str, scores: Sequence[float] | None = None) -> tuple[list[int], int]:
    """The rows kept when a respondent has several attempts (first, last or best), and how many were dropped.

    An attempt with no answers (opened, never submitted) loses to any attempt with answers.
    Rows without an `attempt` column are each their own attempt. `best` needs every row's score
    (ties go to the later attempt).
    """
    if mode not in ATTEMPTS:
        raise ValueError(mode)
    a = column(table.header, "attempt")
    sid = column(table.header, "student_id")
    if a is None or sid is None:
        return list(range(len(table.rows))), 0
    first_answer = len(SUBMISSION_HEADER) if tuple(table.header[:len(SUBMISSION_HEADER)]) == SUBMISSION_HEADER else 0
    answers = [c for c in range(first_answer, len(table.header)) if not table.header[c].startswith(IDENTITY_PREFIX)]

    def rank(r: int) -> tuple:
        row = table.rows[r]
        text = cell(row, a)
        number = int(text) if text.isdigit() else r
        answered = any(row[c].strip() for c in answers if c < len(row))
        if mode == "first":
            return answered, -number
        if mode == "last":
            return answered, number
        assert scores is not None
        return answered, scores[r], number

    chosen: dict[str, int] = {}
    for r, row in enumerate(table.rows):
        who = cell(row, sid)
        if who not in chosen or rank(r) > rank(chosen[who]):
            chosen[who] = r
    keep = sorted(chosen.values())
    return keep, len(table.rows) - len(keep)


_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MONTHS.update({m: i for i, m in enumerate(
    "januar februar märz april mai juni juli august september oktober november dezember".split(), 1)})
_DATE = re.compile(r"(\d{1,2})\.?\s+([^\W\d_]+)\s+(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")


def moment(text: str) -> float:
    """A report's date and time ('4 December 2026 10:05 AM', '4. Dezember 2026, 10:05') as a sortable number; NaN if not one."""
    m = _DATE.search(text)
    if not m or m.group(2).lower() not in _MONTHS:
        return float("nan")
    day, month, year, hour, minute = int(m.group(1)), _MONTHS[m.group(2).lower()], int(m.group(3)), int(m.group(4)), int(m.group(5))
    if m.group(7):
        hour = hour % 12 + (12 if m.group(7).lower() == "pm" else 0)
    return ((((year * 13 + month) * 32 + day) * 24 + hour) * 60 + minute) * 60 + int(m.group(6) or 0)


def take_rows(table: Table, rows: Sequence[int]) -> Table:
    return replace(table, rows=tuple(table.rows[r] for r in rows), lines=tuple(table.lines[r] for r in rows))
