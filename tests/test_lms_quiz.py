"""LMS quizzes: pool exams exported as Moodle Cloze questions and a Canvas QTI package, and the
LMSs' response reports read back and graded exactly as submission_template.csv would be.

Fixtures follow the LMSs' own sources (each block names the file it follows); the checks use the
LMSs' rules written again here (Moodle's Cloze grammar and Numerical tolerance, Canvas's string
match), never nnexam's exporter code.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from nnexam.bank import bundled_banks, load_bank
from nnexam.cli import cli
from nnexam.generate import generate, pool_ids
from nnexam.grade import accepted_bounds, mistaken_answers
from nnexam.lms import canvas, moodle
from nnexam.manifest import load_manifest
from nnexam.solve import evaluate, solve

BANKS = [name for name, _ in bundled_banks()]
VARIANTS = 3

# --- Moodle's Cloze grammar, from moodle/moodle question/type/multianswer/questiontype.php ------
# Written again in Python. PCRE's (?<!\\|&|&amp;) has alternatives of different lengths, which
# Python's re refuses; three look-behinds in a row say the same.
ANSWER_ALTERNATIVE_FRACTION_REGEX = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
ANSWER_ALTERNATIVE_ANSWER_REGEX = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
ANSWER_ALTERNATIVE_FEEDBACK_REGEX = r".*?(?<!\\)(?=[~}]|$)"
ANSWER_ALTERNATIVE_REGEX = (f"({ANSWER_ALTERNATIVE_FRACTION_REGEX})?({ANSWER_ALTERNATIVE_ANSWER_REGEX})"
                            f"(#({ANSWER_ALTERNATIVE_FEEDBACK_REGEX}))?")
ANSWER_ALTERNATIVE_REGEX_PERCENTILE_FRACTION, ANSWER_ALTERNATIVE_REGEX_FRACTION = 2, 1
ANSWER_ALTERNATIVE_REGEX_ANSWER, ANSWER_ALTERNATIVE_REGEX_FEEDBACK = 3, 5
NUMBER_REGEX = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL_ALTERNATIVE_REGEX = f"^({NUMBER_REGEX})(:{NUMBER_REGEX})?$"
NUMERICAL_CORRECT_ANSWER, NUMERICAL_ABS_ERROR_MARGIN = 1, 6
ANSWER_TYPE_DEF_REGEX = ("(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|"
                         "(SHORTANSWER|SA|MW)|(SHORTANSWER_C|SAC|MWC)|"
                         "(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
                         "(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
ANSWER_START_REGEX = r"\{([0-9]*):(" + ANSWER_TYPE_DEF_REGEX + "):"
ANSWER_REGEX = ANSWER_START_REGEX + "(" + ANSWER_ALTERNATIVE_REGEX + "(~" + ANSWER_ALTERNATIVE_REGEX + r")*)\}"
ANSWER_REGEX_NORM, ANSWER_REGEX_ANSWER_TYPE_NUMERICAL, ANSWER_REGEX_ALTERNATIVES = 1, 3, 16


def extract_question(text: str) -> list[dict]:
    """qtype_multianswer_extract_question: every gap with its mark, type and alternatives."""
    gaps = []
    position = 1
    while (m := re.search(ANSWER_REGEX, text, re.S)):
        gap = {"mark": m.group(ANSWER_REGEX_NORM) or "1", "numerical": bool(m.group(ANSWER_REGEX_ANSWER_TYPE_NUMERICAL)),
               "alternatives": []}
        remaining = m.group(ANSWER_REGEX_ALTERNATIVES)
        while (alt := re.search("~?" + ANSWER_ALTERNATIVE_REGEX, remaining, re.S)):
            if alt.group(ANSWER_ALTERNATIVE_REGEX_FRACTION) == "=":
                fraction = 1.0
            elif alt.group(ANSWER_ALTERNATIVE_REGEX_PERCENTILE_FRACTION):
                fraction = 0.01 * float(alt.group(ANSWER_ALTERNATIVE_REGEX_PERCENTILE_FRACTION).replace(",", "."))
            else:
                fraction = 0.0
            num = re.search(NUMERICAL_ALTERNATIVE_REGEX, alt.group(ANSWER_ALTERNATIVE_REGEX_ANSWER), re.S)
            gap["alternatives"].append({
                "fraction": fraction,
                "number": num is not None,
                "answer": num.group(NUMERICAL_CORRECT_ANSWER) if num else alt.group(ANSWER_ALTERNATIVE_REGEX_ANSWER),
                "margin": (num.group(NUMERICAL_ABS_ERROR_MARGIN) or "0") if num else None,
                "feedback": alt.group(ANSWER_ALTERNATIVE_REGEX_FEEDBACK) or "",
            })
            remaining = remaining.split(alt.group(0), 1)[1]
        gaps.append(gap)
        text = text.replace(m.group(0), f"{{#{position}}}", 1)
        position += 1
    return gaps


def moodle_accepts(answer: str, margin: str, value: float) -> bool:
    """qtype_numerical_answer::get_tolerance_interval, tolerance type 2 (nominal), PHP precision 14."""
    a, t = float(answer.replace(",", ".")), abs(float(margin.replace(",", ".")))
    epsilon = 10.0 ** -14
    t = t + epsilon * max(abs(t), abs(a), epsilon)
    return a - t <= value <= a + t


@pytest.fixture(scope="module", params=BANKS)
def pool(request):
    bank = load_bank(request.param)
    return generate(bank, "lms-2026", pool_ids(VARIANTS), kind="pool")


def _exact(manifest):
    """Every variant's exact answers, solved again from its own network (variants x questions)."""
    return np.array([[solve(s.network).values[q.name][0] for q in manifest.questions] for s in manifest.students])


def test_moodle_xml_cloze_gaps_as_moodle_parses_them(pool):
    files = moodle.export_quiz(pool)
    root = ET.fromstring(files["moodle.xml"])  # well-formed
    assert root.tag == "quiz"
    questions = root.findall("question")
    # question/format/xml/format.php import_category: <category><text>, <info format><text>
    category = questions[0]
    assert category.get("type") == "category"
    assert category.find("category/text").text.startswith("$course$/top/")
    assert category.find("info").get("format") == "html" and category.find("info/text") is not None
    cloze = questions[1:]
    assert [q.get("type") for q in cloze] == ["cloze"] * VARIANTS
    exact = _exact(pool)
    key, low, high = accepted_bounds(pool)
    mistakes = mistaken_answers(pool)
    points = [q.points for q in pool.questions]
    for i, (q, student) in enumerate(zip(cloze, pool.students)):
        # import_multianswer reads name/text, questiontext (format, text, file), generalfeedback/text
        assert student.variant in q.find("name/text").text
        text_el = q.find("questiontext")
        assert text_el.get("format") == "html"
        text = text_el.find("text").text
        f = text_el.find("file")
        assert f.get("encoding") == "base64" and f.get("path") == "/"
        assert f'src="@@PLUGINFILE@@/{f.get("name")}"' in text
        svg = base64.b64decode(f.text)
        assert ET.fromstring(svg).tag.endswith("svg")
        assert f"Variant code: {student.variant}" in text
        assert q.find("generalfeedback").get("format") == "html" and q.find("generalfeedback/text").text.strip()
        assert 0 <= float(q.find("penalty").text) <= 1
        gaps = extract_question(text)
        assert len(gaps) == len(pool.questions)
        marks = [int(g["mark"]) for g in gaps]  # integers, as the grammar's [0-9]* reads them
        assert all(str(m) == g["mark"] for m, g in zip(marks, gaps))
        assert np.allclose(np.array(marks) / marks[0], np.array(points) / points[0])
        for qi, (gap, question) in enumerate(zip(gaps, pool.questions)):
            assert gap["numerical"]
            right, *wrong = gap["alternatives"]
            assert right["fraction"] == 1.0 and right["number"]
            width = high[i, qi] - low[i, qi]  # the interval may be lopsided: the gap is its midpoint ± half
            d = question.decimals
            rounded = round(exact[i, qi], d)
            truncated = math.trunc(round(exact[i, qi] * 10 ** d, 6)) / 10 ** d  # 0.799 in floats is 0.79899...: still 0.799
            for v in (rounded, truncated, exact[i, qi], low[i, qi], high[i, qi]):
                assert moodle_accepts(right["answer"], right["margin"], v), (question.label, v)
            for v in (exact[i, qi] + 2 * width, exact[i, qi] - 2 * width):
                assert not moodle_accepts(right["answer"], right["margin"], v), (question.label, v)
            for alt in wrong:
                assert alt["number"] and alt["fraction"] == 0.0 and alt["feedback"]
                value = float(alt["answer"])
                assert not low[i, qi] <= value <= high[i, qi]
            # every named mistake outside the interval is there (two landing on one number: once)
            outside = {round(float(v[i, qi]), 9) for _, v in mistakes
                       if not np.isnan(v[i, qi]) and not low[i, qi] <= v[i, qi] <= high[i, qi]}
            assert {round(float(a["answer"]), 9) for a in wrong} <= outside
            assert len(wrong) >= (1 if outside else 0)


def test_moodle_feedback_escapes_the_cloze_grammar():
    gap = moodle.cloze_gap(2, 0.5, 0.001, [(0.7, "a } b ~ c # d \\ e {1:NUMERICAL:=1}")])
    parsed = extract_question(f"<p>{gap}</p>")
    assert len(parsed) == 1 and len(parsed[0]["alternatives"]) == 2
    import html
    assert html.unescape(parsed[0]["alternatives"][1]["feedback"]) == "a } b ~ c # d \\ e {1:NUMERICAL:=1}"


def test_gap_marks_are_whole_numbers_scaled():
    assert moodle.gap_marks([1, 2, 1]) == ([1, 2, 1], 1)
    assert moodle.gap_marks([0.5, 1.5, 1]) == ([1, 3, 2], 2)
    assert moodle.gap_marks([0.25, 1]) == ([1, 4], 4)


# --- Canvas ----------------------------------------------------------------------------------


def _qti(files):
    return zipfile.ZipFile(io.BytesIO(files["canvas-qti.zip"]))


Q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"


def test_canvas_package_layout_and_blanks(pool):
    z = _qti(canvas.export_quiz(pool))
    names = set(z.namelist())
    # lib/cc/qti/qti_manifest.rb + qti_generator.rb generate_quiz(quiz, false): the assessment
    # resource (imsqti_xmlv1p2) with its file and a dependency on the assessment_meta resource.
    man = ET.fromstring(z.read("imsmanifest.xml"))
    resources = {r.get("identifier"): r for r in man.iter(f"{CP}resource")}
    qti = [r for r in resources.values() if r.get("type") == "imsqti_xmlv1p2"]
    assert len(qti) == 1
    href = qti[0].find(f"{CP}file").get("href")
    meta = resources[qti[0].find(f"{CP}dependency").get("identifierref")]
    assert meta.get("type") == "associatedcontent/imscc_xmlv1p1/learning-application-resource"
    assert meta.get("href") in names and href in names
    web = [r.get("href") for r in resources.values() if r.get("type") == "webcontent"]
    assert len(web) == VARIANTS and set(web) <= names
    assert ET.fromstring(z.read(meta.get("href"))).find("{http://canvas.instructure.com/xsd/cccv1p0}title").text
    doc = ET.fromstring(z.read(href))
    root_section = doc.find(f"{Q}assessment/{Q}section")
    assert root_section.get("ident") == "root_section"
    group = root_section.find(f"{Q}section")
    assert group.find(f"{Q}selection_ordering/{Q}selection/{Q}selection_number").text == "1"
    total = sum(q.points for q in pool.questions)
    assert float(group.find(f"{Q}selection_ordering/{Q}selection/{Q}selection_extension/{Q}points_per_item").text) == total
    items = group.findall(f"{Q}item")
    assert len(items) == VARIANTS
    exact = _exact(pool)
    key, low, high = accepted_bounds(pool)
    for i, item in enumerate(items):
        fields = {f.find(f"{Q}fieldlabel").text: f.find(f"{Q}fieldentry").text for f in item.iter(f"{Q}qtimetadatafield")}
        assert fields["question_type"] == "fill_in_multiple_blanks_question"
        assert float(fields["points_possible"]) == total
        html = item.find(f"{Q}presentation/{Q}material/{Q}mattext").text
        assert f"Variant code: {pool.students[i].variant}" in html
        src = re.search(r'<img src="([^"]+)"', html).group(1)
        assert src in names
        lids = item.findall(f"{Q}presentation/{Q}response_lid")
        assert len(lids) == len(pool.questions)
        for qi, (lid, q) in enumerate(zip(lids, pool.questions)):
            blank = lid.get("ident")[len("response_"):]
            assert lid.get("ident").startswith("response_") and f"[{blank}]" in html
            strings = [t.text for t in lid.iter(f"{Q}mattext")][1:]  # the first names the blank
            for s in strings:  # Canvas compares strings: each one a student could type, inside the interval
                assert re.fullmatch(r"-?\d*\.\d+|-?\d+", s), s
                assert low[i, qi] <= float(s) <= high[i, qi], (q.label, s)
            d = q.decimals
            rounded = f"{round(exact[i, qi], d):.{d}f}"
            truncated = f"{math.trunc(round(exact[i, qi] * 10 ** d, 6)) / 10 ** d:.{d}f}"
            for form in (rounded, truncated):
                form = form.lstrip("-") if float(form) == 0 else form
                assert form in strings, (q.label, form, strings)
                if form.lstrip("-").startswith("0."):
                    assert form.replace("0.", ".", 1) in strings


def test_canvas_decimal_comma_forms(pool):
    from nnexam.lms.quiz import QuizOptions
    z = _qti(canvas.export_quiz(pool, QuizOptions(decimal_comma=True)))
    text = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert re.search(r'texttype="text/plain">-?0,\d+<', text)


def test_a_roster_exam_is_refused_with_what_to_do():
    bank = load_bank("classic")
    m = generate(bank, "x", [("s1", "")])
    with pytest.raises(Exception) as e:
        moodle.export_quiz(m)
    assert "--pool" in str(e.value)


# --- round trips: pool exam -> export -> the LMS's response report -> grade -------------------


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    out = tmp_path_factory.mktemp("pool") / "classic"
    r = CliRunner().invoke(cli, ["generate", "classic", "--seed", "rt", "--pool", "3", "--no-pdf", "--out", str(out)])
    assert r.exit_code == 0, r.output
    for lms in ("moodle", "canvas"):
        r = CliRunner().invoke(cli, ["export", lms, str(out)])
        assert r.exit_code == 0, r.output
    return out, load_manifest(out)


def _answers(m):
    """Per respondent: (id, first, last, variant index, answers as typed): exact, hand-rounded,
    follow-through, a named mistake, blanks and garbage."""
    qs = m.questions
    exact = _exact(m)
    d = [q.decimals for q in qs]
    typed = lambda values: [f"{v:.{k}f}" for v, k in zip(values, d)]
    rows = [("1001", "Ada", "Lovelace", 0, typed(exact[0])),
            ("1002", "Alan", "Turing", 1, [f"{math.trunc(round(v * 10 ** k, 6)) / 10 ** k:.{k}f}" for v, k in zip(exact[1], d)])]
    # follow-through: the first answer wrong, everything after it computed from it
    wrong = float(exact[2, 0]) + 0.05
    chain = evaluate(m.graph, m.givens(np.array([2])), fixed={qs[0].name: np.array([wrong])})
    rows.append(("1003", "Grace", "Hopper", 2, typed([wrong] + [float(np.atleast_1d(chain[q.name])[0]) for q in qs[1:]])))
    mistake, values = mistaken_answers(m, np.array([0]))[0]
    rows.append(("1004", "Edsger", "Dijkstra", 0, typed([exact[0, j] if np.isnan(values[0, j]) else values[0, j] for j in range(len(qs))])))
    garbage = typed(exact[1])
    garbage[:3] = ["", "", ""]
    garbage[3] = "0.1O"
    rows.append(("1005", "Barbara", "Liskov", 1, garbage))
    return rows


def _csv(lines, bom=False):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(lines)
    return ("\ufeff" if bom else "") + buf.getvalue()


def _template(m, rows):
    """The same answers in submission_template.csv's layout (respondent as student_id)."""
    lines = [["student_id", "variant", "name"] + [q.label for q in m.questions]]
    lines += [[sid, m.students[v].variant, f"{first} {last}"] + answers for sid, first, last, v, answers in rows]
    return _csv(lines)


def _moodle_report(m, rows, question_column=True, right_column=False, german=False):
    """A Responses report download (see moodle.py's quiz responses section for the source files)."""
    words = (["Nachname", "Vorname", "ID-Nummer", "E-Mail-Adresse", "Status", "Begonnen am", "Beendet", "Dauer",
              "Bewertung/24,00"] if german else
             ["Last name", "First name", "ID number", "Email address", "State", "Started on", "Completed",
              "Duration", "Grade/24.00"])
    part = "Teil" if german else "part"
    head = words + (["Frage 1" if german else "Question 1"] if question_column else []) + ["Antwort 1" if german else "Response 1"]
    head += ["Richtige Antwort 1" if german else "Right answer 1"] if right_column else []
    lines = [head]
    exact = _exact(m)
    for n, (sid, first, last, v, answers) in enumerate(rows):
        code = m.students[v].variant
        line = [last, first, sid, f"{first.lower()}@uni.example", "Finished", f"4 December 2026 10:{n:02d} AM",
                f"4 December 2026 11:{n:02d} AM", "1 hour", "12.00"]
        if question_column:
            line.append(f"Variant code: {code} (quiz, {m.students[v].id}) Round every answer to 4 decimal places "
                        + " ".join(f"{q.label} _____ (1 point)" for q in m.questions))
        line.append("; ".join(f"{part} {j}: {a}" for j, a in enumerate(answers, 1)).strip())
        if right_column:
            line.append("; ".join(f"{part} {j}: {moodle.plain(x)}" for j, x in enumerate(exact[v], 1)))
        lines.append(line)
    return _csv(lines, bom=True)


def _canvas_report(m, rows):
    """A Student Analysis download (app/models/quizzes/quiz_statistics/student_analysis.rb to_csv)."""
    head = ["name", "id", "sis_id", "section", "section_id", "section_sis_id", "submitted", "attempt"]
    for i, s in enumerate(m.students):
        head += [f"{5000 + i}: Variant code: {s.variant} (quiz, {s.id}) Round every answer to 4 decimal places", "24.0"]
    head += ["n correct", "n incorrect", "score"]
    lines = [head]
    for sid, first, last, v, answers in rows:
        line = [f"{first} {last}", str(int(sid) + 90000), sid, "Section 1", "77", "", "2026-12-04 11:00:00 UTC", "1"]
        for i in range(len(m.students)):
            line += [",".join(a.replace(",", "\\,") for a in answers), "12.0"] if i == v else ["", ""]
        line += ["10", "14", "12.0"]
        lines.append(line)
    return _csv(lines)


def _grade(exam_dir, path, out, *extra):
    r = CliRunner().invoke(cli, ["grade", str(exam_dir), str(path), "--out", str(out), "--no-report", *extra])
    return r


def _same_grading(tmp_path, exam_dir, m, rows, report, name):
    (tmp_path / "template.csv").write_text(_template(m, rows), encoding="utf-8")
    (tmp_path / name).write_text(report, encoding="utf-8")
    a = _grade(exam_dir, tmp_path / "template.csv", tmp_path / "a")
    b = _grade(exam_dir, tmp_path / name, tmp_path / "b")
    assert a.exit_code == b.exit_code == 1, (a.output, b.output)  # the garbage cell needs attention in both
    assert "read as" in b.output and "read as" not in a.output
    ga = (tmp_path / "a" / "grades.csv").read_text(encoding="utf-8-sig")
    gb = (tmp_path / "b" / "grades.csv").read_text(encoding="utf-8-sig")
    assert ga == gb
    fa = sorted(p.name for p in (tmp_path / "a" / "feedback").iterdir())
    assert fa == sorted(p.name for p in (tmp_path / "b" / "feedback").iterdir()) and len(fa) == len(rows)
    for f in fa:
        assert (tmp_path / "a" / "feedback" / f).read_text() == (tmp_path / "b" / "feedback" / f).read_text()
    return list(csv.DictReader(io.StringIO(ga)))


def test_moodle_round_trip_same_as_template(tmp_path, exam):
    exam_dir, m = exam
    rows = _answers(m)
    graded = _same_grading(tmp_path, exam_dir, m, rows, _moodle_report(m, rows), "responses.csv")
    by_id = {g["student_id"]: g for g in graded}
    total = sum(q.points for q in m.questions)
    assert float(by_id["1001"]["score"]) == float(by_id["1002"]["score"]) == total  # exact, truncated
    assert float(by_id["1003"]["score"]) == total - m.questions[0].points  # follow-through keeps the rest
    assert float(by_id["1004"]["score"]) < total and by_id["1004"]["name"] == "Edsger Dijkstra"
    assert by_id["1005"]["status"] == "unreadable cells"
    feedback = (tmp_path / "b" / "feedback" / "1004.txt").read_text()
    assert mistaken_answers(m, np.array([0]))[0][0].title in feedback


def test_moodle_german_report_and_right_answer_column(tmp_path, exam):
    exam_dir, m = exam
    rows = _answers(m)
    _same_grading(tmp_path, exam_dir, m, rows, _moodle_report(m, rows, question_column=False, right_column=True,
                                                              german=True), "antworten.csv")


def test_canvas_round_trip_same_as_template(tmp_path, exam):
    exam_dir, m = exam
    rows = _answers(m)
    graded = _same_grading(tmp_path, exam_dir, m, rows, _canvas_report(m, rows), "student_analysis.csv")
    assert {g["student_id"] for g in graded} == {r[0] for r in rows}  # the SIS id names the respondent


def test_canvas_round_trip_canvas_csv_finds_every_respondent_by_canvas_id(tmp_path, exam):
    """Student Analysis report -> grade -> canvas.csv, read back by Canvas's importer rules: each row
    is found by ID (Canvas's user id, the report's `id`), and carries SIS User ID and Section."""
    from test_lms_grades import canvas_import

    exam_dir, m = exam
    rows = _answers(m)
    # Alan Turing has no SIS id (sis_id blank): the respondent is Canvas's id 91002
    (tmp_path / "sa.csv").write_text(_canvas_report(m, rows).replace(",91002,1002,", ",91002,,"), encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "sa.csv", tmp_path / "out")
    assert r.exit_code == 1, r.output  # 1005's garbage cell
    columns, students, _ = canvas_import((tmp_path / "out" / "canvas.csv").read_text(encoding="utf-8-sig"))
    assert list(columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    # Canvas's course: user id -> (name, SIS id), as the report's rows say (GradebookImporter#process_student
    # looks a row up by ID first)
    course = {str(90000 + int(sid)): (f"{first} {last}", "" if sid == "1002" else sid) for sid, first, last, _, _ in rows}
    total = sum(q.points for q in m.questions)
    found = {s["ID"]: s for s in students}
    assert set(found) == set(course)  # every respondent, each found by Canvas's user id
    for uid, s in found.items():
        assert (s["Student"], s["SIS User ID"], s["Section"]) == (*course[uid], "Section 1")
    exam_title = list(students[0])[-1]
    assert float(found["91001"][exam_title]) == float(found["91002"][exam_title]) == total
    assert float(found["91003"][exam_title]) == total - m.questions[0].points


def test_a_report_in_two_files_keeps_names_and_canvas_ids(tmp_path, exam):
    """Two downloads graded together (merge_submissions) name the respondents as one file does."""
    from test_lms_grades import canvas_import

    exam_dir, m = exam
    rows = _answers(m)[:4]
    lines = _canvas_report(m, rows).splitlines(keepends=True)
    (tmp_path / "a.csv").write_text("".join(lines[:3]), encoding="utf-8")
    (tmp_path / "b.csv").write_text(lines[0] + "".join(lines[3:]), encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "a.csv", tmp_path / "out", str(tmp_path / "b.csv"))
    assert r.exit_code == 0, r.output
    graded = list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text(encoding="utf-8-sig"))))
    assert [(g["student_id"], g["name"]) for g in graded] == [(sid, f"{first} {last}") for sid, first, last, _, _ in rows]
    _, students, _ = canvas_import((tmp_path / "out" / "canvas.csv").read_text(encoding="utf-8-sig"))
    assert [(s["Student"], s["ID"], s["SIS User ID"]) for s in students] == [
        (f"{first} {last}", str(90000 + int(sid)), sid) for sid, first, last, _, _ in rows]


def test_canvas_report_and_a_paper_submission_each_found_their_own_way(tmp_path, exam):
    """A Canvas report graded with a submissions file: the report's respondents by Canvas's ID, the
    file's (no Canvas identity) by the nnexam id as SIS User ID; never a Canvas id as an SIS id."""
    from test_lms_grades import canvas_import

    exam_dir, m = exam
    rows = _answers(m)[:3]
    (tmp_path / "sa.csv").write_text(_canvas_report(m, rows[:2]).replace(",91002,1002,", ",91002,,"), encoding="utf-8")
    (tmp_path / "paper.csv").write_text(_template(m, rows[2:]), encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "sa.csv", tmp_path / "out", str(tmp_path / "paper.csv"))
    assert r.exit_code == 0, r.output
    columns, students, _ = canvas_import((tmp_path / "out" / "canvas.csv").read_text(encoding="utf-8-sig"))
    assert "SIS User ID" in columns
    assert [(s["ID"], s["SIS User ID"], s["Section"]) for s in students] == [
        ("91001", "1001", "Section 1"), ("91002", "", "Section 1"), ("", "1003", "")]


def test_lms_export_fills_a_respondent_without_sis_id_by_canvas_id(tmp_path, exam):
    """--lms-export of a Canvas gradebook (lib/gradebook_exporter.rb layout): the respondents are
    matched on SIS User ID, and the one without an SIS id (named by Canvas's id) on ID."""
    exam_dir, m = exam
    rows = _answers(m)[:3]
    (tmp_path / "sa.csv").write_text(_canvas_report(m, rows).replace(",91002,1002,", ",91002,,"), encoding="utf-8")
    export = tmp_path / "gradebook.csv"
    export.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (77)\n    Points Possible,,,,,24.00\n"
                      + "".join(f"{first} {last},{90000 + int(sid)},{'' if sid == '1002' else sid},{first},Section 1,\n"
                                for sid, first, last, _, _ in rows))
    r = _grade(exam_dir, tmp_path / "sa.csv", tmp_path / "out", "--lms-export", str(export), "--title", "Quiz 1")
    assert r.exit_code == 0 and "not in the export" not in r.output, r.output
    filled = list(csv.reader(io.StringIO((tmp_path / "out" / "gradebook.csv").read_text())))[2:]
    total = sum(q.points for q in m.questions)
    assert [(row[1], float(row[5])) for row in filled] == [("91001", total), ("91002", total),
                                                            ("91003", total - m.questions[0].points)]


@pytest.mark.parametrize("no_id", ["", "-"])
def test_moodle_round_trip_moodle_csv_maps_on_what_every_respondent_has(tmp_path, exam, no_id):
    """A respondent without an ID number (blank, or '-') is named by email; moodle.csv then maps every
    row on Email address."""
    from test_lms_grades import moodle_import

    exam_dir, m = exam
    rows = _answers(m)[:4]
    report = _moodle_report(m, rows).replace(",1002,alan@uni.example,", f",{no_id},alan@uni.example,")
    (tmp_path / "responses.csv").write_text(report, encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "responses.csv", tmp_path / "out")
    assert r.exit_code == 0, r.output
    text = (tmp_path / "out" / "moodle.csv").read_text(encoding="utf-8-sig")
    mapto, mapping, graded = moodle_import(text, [text.split("\n", 1)[0].rsplit(" (Real)", 1)[0].split(",", 1)[1].strip('"')])
    assert mapto == "useremail" and len(mapping) == 2
    assert sorted(g["Email address"] for g in graded) == sorted(f"{first.lower()}@uni.example" for _, first, _, _, _ in rows)


def test_moodle_csv_leaves_out_a_respondent_moodle_could_not_find(tmp_path, exam):
    """No ID number and no email: named by name in grades.csv, left out of moodle.csv (Moodle stops an import
    at a user it cannot find), and the line on importing says so."""
    from test_lms_grades import moodle_import

    exam_dir, m = exam
    rows = _answers(m)[:3]
    report = _moodle_report(m, rows).replace(",1002,alan@uni.example,", ",,,")
    (tmp_path / "responses.csv").write_text(report, encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "responses.csv", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "1 student(s) without an ID number are left out" in r.output
    text = (tmp_path / "out" / "moodle.csv").read_text(encoding="utf-8-sig")
    mapto, _, graded = moodle_import(text, [])
    assert mapto == "useridnumber" and [g["ID number"] for g in graded] == ["1001", "1003"]


def test_google_forms_round_trip_same_as_template(tmp_path, exam):
    exam_dir, m = exam
    rows = _answers(m)
    # Google Forms' download: Timestamp, Email Address, then one column per question title.
    lines = [["Timestamp", "Email Address", "Student ID", "Variant code"] + [q.label for q in m.questions]]
    lines += [[f"2026/12/04 10:0{n} AM GMT+1", f"{first.lower()}@uni.example", sid, m.students[v].variant] + answers
              for n, (sid, first, last, v, answers) in enumerate(rows)]
    (tmp_path / "form.csv").write_text(_csv(lines), encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "form.csv", tmp_path / "f")
    assert r.exit_code == 1 and "read as Google Forms responses" in r.output
    graded = {g["student_id"]: g for g in csv.DictReader(io.StringIO((tmp_path / "f" / "grades.csv").read_text(encoding="utf-8-sig")))}
    assert set(graded) == {r[0] for r in rows} and float(graded["1001"]["score"]) == sum(q.points for q in m.questions)


def test_bad_rows_named_one_line_each_and_others_graded(tmp_path, exam):
    exam_dir, m = exam
    rows = _answers(m)[:2]
    report = _moodle_report(m, rows).splitlines()
    head = next(csv.reader([report[0].lstrip("\ufeff")]))
    good = [next(csv.reader([line])) for line in report[1:]]
    q, resp = head.index("Question 1"), head.index("Response 1")
    other = list(good[0]); other[2] = "2001"; other[q] = "Variant code: ZZZZ99 (another exam) out_h1 _____"  # another exam
    unknown = list(good[0]); unknown[2] = "2002"; unknown[q] = "Variant code: " + "Q" * 6  # no code of this exam
    cut = list(good[1]); cut[2] = "2003"; cut[resp] = cut[resp][: len(cut[resp]) // 2]  # a Cloze cell cut short
    empty = list(good[0]); empty[2] = "2004"; empty[resp] = "-"; empty[4] = "Never submitted"  # no answers
    (tmp_path / "bad.csv").write_text(_csv([head] + good + [other, unknown, cut, empty], bom=True), encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "bad.csv", tmp_path / "g")
    assert r.exit_code == 1
    graded = {g["student_id"]: g for g in csv.DictReader(io.StringIO((tmp_path / "g" / "grades.csv").read_text(encoding="utf-8-sig")))}
    assert graded["1001"]["status"] == graded["1002"]["status"] == "graded"
    assert graded["2001"]["status"] == graded["2002"]["status"] == graded["2004"]["status"] == "unknown student"
    assert "not one of this exam" in graded["2001"]["notes"] or "no variant code" in graded["2001"]["notes"]
    assert "no answers" in graded["2004"]["notes"] and "line 7" in graded["2004"]["notes"]
    assert graded["2003"]["status"] == "unreadable cells" and "cut short" in graded["2003"]["notes"]
    attention = [line for line in r.output.splitlines() if line.startswith("nnexam: attention")]
    assert any("line(s) 4, 5, 7" in line for line in attention), attention
    assert any("line(s) 6" in line for line in attention), attention


def test_attempts_first_last_best(tmp_path, exam):
    exam_dir, m = exam
    rows = _answers(m)[:1]
    exact_row = rows[0]
    worse = (exact_row[0], exact_row[1], exact_row[2], 1, ["0.1"] * len(m.questions))
    report = _moodle_report(m, [exact_row, worse])  # the exact one started first (10:00), the worse later
    (tmp_path / "two.csv").write_text(report, encoding="utf-8")
    total = sum(q.points for q in m.questions)
    scores = {}
    for mode in ("first", "last", "best"):
        r = _grade(exam_dir, tmp_path / "two.csv", tmp_path / mode, "--attempt", mode)
        assert r.exit_code == 0, r.output
        assert "1 other attempts left out" in r.output
        graded = list(csv.DictReader(io.StringIO((tmp_path / mode / "grades.csv").read_text(encoding="utf-8-sig"))))
        assert len(graded) == 1
        scores[mode] = float(graded[0]["score"])
    assert scores["first"] == scores["best"] == total and scores["last"] < total


def test_generate_pool_cli(tmp_path):
    out = tmp_path / "p"
    r = CliRunner().invoke(cli, ["generate", "classic", "--seed", "7", "--pool", "12", "--no-pdf", "--out", str(out)])
    assert r.exit_code == 0 and "12 pool variants" in r.output
    m = load_manifest(out)
    assert m.kind == "pool" and [s.id for s in m.students][:2] == ["v001", "v002"] and len(m.students) == 12
    assert len({s.variant for s in m.students}) == 12 and all(s.name == "" for s in m.students)
    again = tmp_path / "q"
    CliRunner().invoke(cli, ["generate", "classic", "--seed", "7", "--pool", "12", "--no-pdf", "--out", str(again)])
    assert (out / "manifest.json").read_bytes() == (again / "manifest.json").read_bytes()
    r = CliRunner().invoke(cli, ["generate", "classic", "--seed", "7", "--pool", "3", "--students", "3"])
    assert r.exit_code == 2 and "exactly one of" in r.output


def test_export_refusals(tmp_path, exam):
    exam_dir, _ = exam
    roster = tmp_path / "roster"
    CliRunner().invoke(cli, ["generate", "classic", "--seed", "7", "--students", "2", "--no-pdf", "--out", str(roster)])
    r = CliRunner().invoke(cli, ["export", "moodle", str(roster)])
    assert r.exit_code == 2 and "roster exam" in r.output and "--pool" in r.output and str(roster) in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(cli, ["export", "moodle", str(exam_dir)])  # moodle.xml exists already
    assert r.exit_code == 2 and "use --force" in r.output
    assert CliRunner().invoke(cli, ["export", "moodle", str(exam_dir), "--force"]).exit_code == 0
    r = CliRunner().invoke(cli, ["export", "canvas", str(exam_dir), "--out", str(tmp_path / "new")])
    assert r.exit_code == 0 and (tmp_path / "new" / "canvas-qti.zip").is_file()


def test_microsoft_forms_layout(tmp_path, exam):
    exam_dir, m = exam
    rows = _answers(m)[:2]
    lines = [["ID", "Start time", "Completion time", "Email", "Name", "Variant code"] + [q.label for q in m.questions]]
    lines += [[str(n + 1), "12/4/26 10:00:00", "12/4/26 10:40:00", f"{first.lower()}@uni.example", f"{first} {last}",
               m.students[v].variant] + answers for n, (sid, first, last, v, answers) in enumerate(rows)]
    (tmp_path / "ms.csv").write_text(_csv(lines), encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "ms.csv", tmp_path / "g")
    assert r.exit_code == 0 and "read as Microsoft Forms responses" in r.output
    graded = list(csv.DictReader(io.StringIO((tmp_path / "g" / "grades.csv").read_text(encoding="utf-8-sig"))))
    # the form's ID is its response number, never the student: the email names the respondent
    assert [g["student_id"] for g in graded] == ["ada@uni.example", "alan@uni.example"]
    assert [g["name"] for g in graded] == ["Ada Lovelace", "Alan Turing"]


def test_an_empty_later_attempt_does_not_hide_an_answered_one(tmp_path, exam):
    exam_dir, m = exam
    answered = _answers(m)[0]
    empty = (answered[0], answered[1], answered[2], 0, [""] * len(m.questions))
    (tmp_path / "r.csv").write_text(_moodle_report(m, [answered, empty]), encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "r.csv", tmp_path / "g")
    assert r.exit_code == 0, r.output
    graded = list(csv.DictReader(io.StringIO((tmp_path / "g" / "grades.csv").read_text(encoding="utf-8-sig"))))
    assert len(graded) == 1 and float(graded[0]["score"]) == sum(q.points for q in m.questions)


def test_a_report_of_another_exam_entirely(tmp_path, exam):
    exam_dir, m = exam
    other = tmp_path / "other"
    CliRunner().invoke(cli, ["generate", "classic", "--seed", "another", "--pool", "2", "--no-pdf", "--out", str(other)])
    om = load_manifest(other)
    rows = [("1001", "Ada", "Lovelace", 0, ["0.5"] * len(om.questions)), ("1002", "Alan", "Turing", 1, ["0.5"] * len(om.questions))]
    (tmp_path / "r.csv").write_text(_moodle_report(om, rows), encoding="utf-8")
    r = _grade(exam_dir, tmp_path / "r.csv", tmp_path / "g")
    assert r.exit_code == 1 and "2 row(s) with unknown student: line(s) 2, 3" in r.output
    graded = list(csv.DictReader(io.StringIO((tmp_path / "g" / "grades.csv").read_text(encoding="utf-8-sig"))))
    assert [g["status"] for g in graded] == ["unknown student"] * 2  # and no pool variant listed as missing
