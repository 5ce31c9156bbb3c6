"""Moodle: its roster export, grade import, quiz export and quiz response reports, in one place."""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Sequence
from xml.sax.saxutils import escape as _xml_escape

import numpy as _np

from ..errors import NnexamError
from ..grade import accepted_bounds, mistaken_answers
from ..gradebook import _csv_lines, _csv_row, _csv_texts
from ..manifest import Manifest
from ..roster import Columns, Roster, build_roster, cell, chosen_column
from ..table import Table
from .quiz import (QuizOptions, column, diagram, find_variant, moment, plain, question_html, quiz_title,
                   require_pool, respondent, submissions_table, variant_codes, worked_solutions)

if TYPE_CHECKING:
    from ..grade import Grades
    from . import GradeFile, GradeOptions


# --- roster -------------------------------------------------------------------------------------

# Read as Moodle writes them. The grade export (moodle/moodle grade/export/txt/grade_export_txt.php,
# print_grades): the user profile fields of $CFG->grade_export_userprofilefields (default
# firstname,lastname,idnumber,institution,department,email: "First name", "Last name", "ID number",
# "Institution", "Department", "Email address"), then per grade item "<module>: <item> (Real)" and
# "(Feedback)" columns, then "Last downloaded from this course". The participants download
# (user/action_redir.php, operation download_participants): "First name", "Last name", then the
# site's identity fields ($CFG->showuseridentity: "Email address", "ID number", "Username", ...).
# German sites write the same columns in German (lang/de/moodle.php).

IDENTITY = ("ID number", "Username", "Email address", "First name", "Last name")
_ALIASES = {
    "First name": ("First name", "Vorname"), "Last name": ("Last name", "Surname", "Nachname"),
    "ID number": ("ID number", "ID-Nummer"), "Username": ("Username", "Anmeldename", "Nutzername"),
    "Email address": ("Email address", "E-Mail-Adresse"),
}
_GRADE_COLUMN = re.compile(r".*\((Real|Percentage|Letter|Feedback|Reell|Prozentsatz|Buchstabe)\)\s*")
_EXPORTED = ("Last downloaded from this course", "Zuletzt aus diesem Kurs heruntergeladen")


def read_roster(table: Table, id_column: str | None = None) -> Roster | None:
    """A Moodle grade export or participants download: ID number as the id, else Username, else Email address."""
    columns = Columns(table.header)
    exact = {}  # Moodle's own spelling, case included ("First name", where Blackboard writes "First Name")
    for i, h in enumerate(table.header):
        exact.setdefault(h.strip(), i)
    at = {name: next((exact[a] for a in aliases if a in exact), None) for name, aliases in _ALIASES.items()}
    if at["First name"] is None or at["Last name"] is None or all(at[k] is None for k in IDENTITY[:3]):
        return None
    graded = any(_GRADE_COLUMN.fullmatch(h) for h in table.header) or any(columns.has(e) for e in _EXPORTED)
    layout = "Moodle grade export" if graded else "Moodle participants download"
    notes = []
    if id_column is not None:
        id_at = chosen_column(columns, id_column, table.source)
    else:
        present = [k for k in IDENTITY[:3] if at[k] is not None]
        full = [k for k in present if all(cell(row, at[k]) for row in table.rows)]
        chosen = full[0] if full else present[0]
        id_at = at[chosen]
        if chosen != present[0]:
            notes.append(f"{table.source}: some students have no {present[0]}, so the ids are their {chosen}; "
                         f"moodle.csv matches them by {chosen}")

    def name_of(row: Sequence[str]) -> str:
        return " ".join(x for x in (cell(row, at["First name"]), cell(row, at["Last name"])) if x)

    return build_roster(table, layout, id_at, name_of, at, notes=notes)


# --- grade import file --------------------------------------------------------------------------

# Written as Moodle's CSV grade import reads it (moodle/moodle grade/import/csv/classes/load_data.php and
# grade/import/grade_import_form.php): "Map from" a column to "Map to" ID number, Username or Email
# address, preselected when the column is named exactly so; a column named "<item> (Real)" is mapped to
# the existing grade item <item> and "<item> (Feedback)" to its feedback. A new grade item made by the
# import has Moodle's default maximum grade, 100, and a grade above $CFG->gradepointmax (100) is refused,
# so the item is best made first with the exam's maximum (or the scores written as percentages).
# A row whose user is not found stops the whole import, so only students with an identity value are listed.

_MAP_TO = ("ID number", "Username", "Email address")  # get_string('idnumber'), ('username'), ('email')
_OTHER_LMS = {"First Name", "SIS Login ID", "OrgDefinedId", "SID"}  # Blackboard, Canvas, Brightspace, Gradescope


def grade_file(grades: Grades, title: str, options: GradeOptions) -> GradeFile:
    """moodle.csv: the identity column Moodle maps from (named after what it holds), the score and a feedback line."""
    from . import GradeFile, marks

    m = marks(grades, options)
    # Identity columns of a Moodle roster (or a plain CSV's); another LMS's "Username" is not Moodle's.
    students = [s for s in grades.manifest.students if "First name" in s.identity or not _OTHER_LMS.intersection(s.identity)]
    key = None
    if any(s.identity for s in students):  # nnexam's own class has no identity columns: nothing to look for
        key = next((k for k in _MAP_TO if all(s.identity.get(k) for s in students)), None)
        key = key or next((k for k in _MAP_TO if any(s.identity.get(k) for s in students)), None)
    if key is None or len(students) < len(grades.manifest.students):
        ids, key, listed = [s.id for s in m.students], "ID number", range(len(m.students))
    else:
        listed = [i for i, s in enumerate(m.students) if s.identity.get(key)]
        ids = [m.students[i].identity[key] for i in listed]
    score_column = title if options.percent else f"{title} (Real)"
    header = _csv_row([key, score_column, f"{title} (Feedback)"])  # each through csvout.cell
    text = header + _csv_lines([_csv_texts(ids), [m.scores[i] for i in listed],
                                _csv_texts([m.summaries[i] for i in listed])])
    if options.percent:
        how = (f"moodle.csv: in Moodle, Grades > Import > CSV file; Map from '{key}' to '{key}'; map '{title}' to "
               f"New grade item (maximum grade 100: these are percentages)")
    else:
        how = (f"moodle.csv: in Moodle, first Gradebook setup > Add grade item '{title}' with Maximum grade {m.out_of}, "
               f"then Grades > Import > CSV file; Map from '{key}' to '{key}' and the item mappings are preselected "
               "(or rerun with --percent for a New grade item out of 100)")
        if grades.max_score > 100:
            how += "; Moodle refuses grades above 100 unless the site allows unlimited grades: use --percent"
    skipped = len(m.students) - len(listed)
    if skipped:
        how += f"; {skipped} student(s) without {'an' if key[0] in 'AEIOU' else 'a'} {key} are left out"
    return GradeFile("moodle.csv", text.encode("utf-8"), how)


# --- quiz export --------------------------------------------------------------------------------
# moodle.xml for Moodle's question bank import (Question bank > Import, format "Moodle XML"), as
# moodle/moodle question/format/xml/format.php reads it: a <question type="category"> naming the
# category, then one <question type="cloze"> per variant whose <questiontext> holds the Cloze
# gaps and the diagram as a <file ... encoding="base64"> referred to as @@PLUGINFILE@@/name.
# The gaps follow question/type/multianswer/questiontype.php's grammar (ANSWER_REGEX):
# {MARK:NUMERICAL:=ANSWER:MARGIN#feedback~%0%WRONG:MARGIN#feedback}; MARK is an integer weight,
# ANSWER and MARGIN match NUMBER_REGEX, and a Numerical answer with margin m accepts
# [answer - m, answer + m] (question/type/numerical/question.php, tolerance type "nominal").


# Characters the Cloze grammar gives a meaning (~ # } end a part, { may start a gap, \ escapes)
# become HTML character references: Moodle html_entity_decode()s feedback after parsing it.
_CLOZE_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "~": "&#126;", "#": "&#35;",
                   "}": "&#125;", "{": "&#123;", "\\": "&#92;"}


def cloze_text(text: str) -> str:
    """Text safe inside a Cloze part (feedback): every character the grammar reads written as an entity."""
    return "".join(_CLOZE_ENTITIES.get(ch, ch) for ch in text)


def gap_marks(points: list[float]) -> tuple[list[int], int]:
    """Integer Cloze weights for the questions' points, and the factor they were scaled by (1 when whole)."""
    for factor in range(1, 1001):
        scaled = [p * factor for p in points]
        if all(abs(s - round(s)) < 1e-9 for s in scaled):
            return [int(round(s)) for s in scaled], factor
    raise NnexamError("points cannot be written as whole Cloze weights (scale up to 1000 tried)")


def cloze_gap(mark: int, key: float, width: float, wrong: list[tuple[float, str]]) -> str:
    """One NUMERICAL gap: the accepted interval as answer:margin, then each mistake as a 0% alternative."""
    parts = [f"={plain(key)}:{plain(width)}"]
    for value, feedback in wrong:
        parts.append(f"%0%{plain(value)}:{plain(width)}#{cloze_text(feedback)}")
    return "{" + f"{mark}:NUMERICAL:" + "~".join(parts) + "}"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _category_path(name: str) -> str:
    # Moodle splits a category path on '/' and reads '//' as a '/' within one name.
    return "$course$/top/" + name.replace("/", "//")


def export_quiz(manifest: Manifest, options: QuizOptions | None = None) -> dict[str, bytes]:
    """moodle.xml: a category for the exam and one Cloze question per pool variant."""
    options = options or QuizOptions()
    require_pool(manifest, "Moodle")
    title = quiz_title(manifest, options)
    key, low, high = accepted_bounds(manifest)
    # A NUMERICAL answer accepts answer ± margin, and nnexam's interval is lopsided where rounding and
    # truncation reach further on one side: its midpoint and half-width accept exactly [low, high].
    centre, width = (low + high) / 2, (high - low) / 2
    mistakes = mistaken_answers(manifest)
    marks, factor = gap_marks([q.points for q in manifest.questions])
    worked = worked_solutions(manifest)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>",
           f"<!-- nnexam {manifest.nnexam_version}: {len(manifest.students)} variants of {_xml_escape(manifest.bank_name)}, "
           f"seed {_xml_escape(manifest.seed)}; gap weights = points x {factor} -->",
           '  <question type="category">',
           f"    <category><text>{_xml_escape(_category_path(f'{title} (seed {manifest.seed})'))}</text></category>",
           f'    <info format="html"><text>{_cdata(f"<p>{len(manifest.students)} variants made by nnexam; put one random question from this category in a quiz.</p>")}</text></info>',
           "  </question>"]
    for i, v in enumerate(manifest.students):
        def gap(qi: int) -> str:
            wrong: list[tuple[float, str]] = []
            for m, values in mistakes:
                x = float(values[i, qi])
                if _np.isnan(x) or low[i, qi] <= x <= high[i, qi]:
                    continue
                if any(abs(x - y) <= width[i, qi] for y, _ in wrong):
                    continue  # two mistakes landing on one number: the first names it
                wrong.append((x, f"{m.title}: {m.explanation}"))
            return cloze_gap(marks[qi], float(centre[i, qi]), float(width[i, qi]), wrong)

        image = f"diagram-{v.variant}.svg"
        text = question_html(manifest, i, gap, f"@@PLUGINFILE@@/{image}", title)
        feedback = "<p>Worked solution:</p><pre>" + _xml_escape(worked[i]) + "</pre>"
        out += [
            '  <question type="cloze">',
            f"    <name><text>{_xml_escape(f'{title} {v.id} {v.variant}')}</text></name>",
            '    <questiontext format="html">',
            f"      <text>{_cdata(text)}</text>",
            f'      <file name="{image}" path="/" encoding="base64">{base64.b64encode(diagram(manifest, i)).decode("ascii")}</file>',
            "    </questiontext>",
            f'    <generalfeedback format="html"><text>{_cdata(feedback)}</text></generalfeedback>',
            "    <penalty>0.3333333</penalty>",
            "    <hidden>0</hidden>",
            f"    <idnumber>{_xml_escape(f'nnexam-{manifest.seed}-{v.variant}')[:100]}</idnumber>",
            "  </question>",
        ]
    out.append("</quiz>")
    return {"moodle.xml": ("\n".join(out) + "\n").encode("utf-8")}


# --- quiz responses -----------------------------------------------------------------------------
# The quiz's Results > Responses report, downloaded (CSV), as moodle/moodle writes it:
# mod/quiz/classes/local/reports/attempts_report.php add_user_columns() heads the download with
# "Last name", "First name" and the identity fields shown to teachers ("Email address",
# "ID number", ...), then State, Started on, Completed, Duration and Grade/N; report.php adds per
# question slot "Question N", "Response N", "Right answer N" (lang/en/quiz_responses.php:
# responsex = 'Response {$a}', rightanswerx = 'Right answer {$a}'; question: questionx =
# 'Question {$a}'); a Cloze response is summarised as 'part 1: ...; part 2: ...'
# (question/type/multianswer/question.php summarise_response, subqresponse = 'part {$a->i}:
# {$a->response}'). German headers as the de language pack words them (from its published
# strings, not stored in moodle/moodle): Nachname, Vorname, E-Mail-Adresse, ID-Nummer,
# Anmeldename, Frage N, Antwort N, Richtige Antwort N, 'Teil N: ...'.


_RESPONSE = re.compile(r"(?:response|antwort)\s*(\d+)", re.I)
_QUESTION = re.compile(r"(?:question|frage)\s*(\d+)", re.I)
_RIGHT = re.compile(r"(?:right answer|richtige antwort)\s*(\d+)", re.I)
_PART = re.compile(r"(?:^|;\s*)(?:part|teil)\s+(\d+):[ \t]?", re.I)
_NO_DATA = ("", "-")


def _slots(header: Sequence[str], pattern: re.Pattern) -> dict[str, int]:
    return {m.group(1): c for c, h in enumerate(header) if (m := pattern.fullmatch(h.strip()))}


def cloze_parts(summary: str, count: int) -> tuple[list[str], bool]:
    """The answers of a Cloze response summary ('part 1: 0.5933; part 2: ; ...'), and whether it was cut short."""
    found = list(_PART.finditer(summary))
    parts = [""] * count
    numbers = []
    for m, nxt in zip(found, found[1:] + [None]):
        n = int(m.group(1))
        text = summary[m.end(): nxt.start() if nxt is not None else len(summary)].strip()
        if 1 <= n <= count:
            parts[n - 1] = text
        numbers.append(n)
    complete = numbers == list(range(1, count + 1))
    return parts, not complete


def _right_answer_variant(text: str, keys: "_np.ndarray") -> int:
    """The variant whose exact answers are the 'Right answer' summary's numbers (what moodle.xml wrote), or -1."""
    parts, short = cloze_parts(text, keys.shape[1])
    if short:
        return -1
    try:
        values = _np.array([float(p) for p in parts])
    except ValueError:
        return -1
    hit = _np.flatnonzero(_np.all(_np.isclose(keys, values, rtol=1e-12, atol=0), axis=1))
    return int(hit[0]) if len(hit) == 1 else -1


CUT_SHORT = "(missing: the Cloze response was cut short)"


def read_responses(table: Table, manifest: Manifest) -> Table | None:
    """Moodle's quiz Responses report as a submissions table; None when the table is not one."""
    responses = _slots(table.header, _RESPONSE)
    if not responses or column(table.header, "Last name", "Nachname", "First name", "Vorname",
                                 "Email address", "E-Mail-Adresse", "ID number", "ID-Nummer") is None:
        return None
    questions, rights = _slots(table.header, _QUESTION), _slots(table.header, _RIGHT)
    if not questions and not rights:
        raise NnexamError(f"{table.source}: this Moodle Responses report has no 'Question 1' or 'Right answer 1' column, "
                          "so the variant of each attempt is unknown; download it again with 'Question text' ticked")
    ids = [column(table.header, n) for n in ("ID number", "ID-Nummer", "Email address", "E-Mail-Adresse",
                                              "Username", "Anmeldename")]
    names = [column(table.header, "First name", "Vorname"), column(table.header, "Last name", "Nachname")]
    started = column(table.header, "Started on", "Begonnen am")
    codes = variant_codes(manifest)
    keys = accepted_bounds(manifest)[0] if rights else None
    nq = len(manifest.questions)
    entries, when = [], []
    for r, row in enumerate(table.rows):
        first = cell(row, 0).lower()
        if first in ("overall average", "gesamtdurchschnitt"):
            continue
        sid, name = respondent(row, ids, names)
        variant, answers = "", [""] * nq
        for slot, c in sorted(responses.items(), key=lambda kv: int(kv[0])):
            summary = cell(row, c)
            code = find_variant(cell(row, questions[slot]), codes) if slot in questions else ""
            if not code and keys is not None and slot in rights:
                found = _right_answer_variant(cell(row, rights[slot]), keys)
                code = manifest.students[found].variant if found >= 0 else ""
            if summary in _NO_DATA:
                variant = variant or code  # an attempt with no answers: the grader says so
                continue
            if not code and not _PART.match(summary):
                continue  # another question of the quiz (not one of this exam's variants)
            parts, short = cloze_parts(summary, nq)
            if short:
                parts = [p if p or i < _last_part(summary) else CUT_SHORT for i, p in enumerate(parts)]
            if not any(parts):
                variant = variant or code
                continue
            variant, answers = code, parts
            break
        entries.append((r, sid, name, variant, answers))
        when.append(moment(cell(row, started)))
    identity = {name: column(table.header, *_ALIASES[name]) for name in _MAP_TO}  # what moodle.csv maps on
    return submissions_table(table, manifest, entries, "Moodle quiz responses (Responses report)", when, identity)


def _last_part(summary: str) -> int:
    """How many parts a (possibly cut) summary holds."""
    return max((int(m.group(1)) for m in _PART.finditer(summary)), default=0)
