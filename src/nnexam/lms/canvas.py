"""Canvas: its roster export, grade import, quiz export and quiz response reports, in one place."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from typing import TYPE_CHECKING, Sequence
from xml.sax.saxutils import escape as _xml_escape, quoteattr as _attr

from ..grade import accepted_bounds
from ..gradebook import _csv_lines, _csv_row, _csv_texts
from ..manifest import Manifest
from ..roster import Columns, Roster, build_roster, cell, chosen_column
from ..table import Table
from .quiz import (QuizOptions, accepted_strings, column, diagram, find_variant, question_html, quiz_title,
                   require_pool, respondent, submissions_table, variant_codes)

if TYPE_CHECKING:
    from ..grade import Grades
    from . import GradeFile, GradeOptions


# --- roster -------------------------------------------------------------------------------------

# Read as Canvas writes its gradebook export (instructure/canvas-lms lib/gradebook_exporter.rb,
# GradebookExporter#csv_data): "Student" (or "LastName", "FirstName"), "ID", "SIS User ID" (only
# when the export includes SIS ids), "SIS Login ID", "Integration ID" and "Root Account" (on some
# instances), "Section", custom columns, then the assignments. Under the header: a row of
# "Manual Posting" cells when an assignment is posted manually, and the "    Points Possible" row.
# The Test Student (StudentViewEnrollment, written last) has no SIS User ID and as SIS Login ID
# the 40 hex digits of hmac_sha1("Test Student_<id>") (app/models/course.rb).

IDENTITY = ("Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Root Account",
            "Section")  # GradebookImporter::GRADEBOOK_IMPORTER_RESERVED_NAMES
_HIDDEN_ROW = re.compile(r"\s*(Muted|Manual Posting.*)?\s*", re.I)  # GradebookImporter#check_for_non_student_row
_TEST_LOGIN = re.compile(r"[0-9a-f]{40}")
_TEST_NAMES = ("student, test", "test student")


def _unwrap(name: str) -> str:
    """A name as the student has it: the exporter writes one starting with = as ="name" (#student_name)."""
    wrapped = _WRAPPED.fullmatch(name)
    return wrapped.group(1) if wrapped else name


_WRAPPED = re.compile(r'="(=.*)"')


def is_canvas_header(header: Sequence[str]) -> bool:
    """What Canvas's importer accepts as its header (GradebookImporter#row_has_student_headers? and
    #header?: a "Section" column ends the student columns)."""
    h = [c.strip() for c in header]
    student = len(h) > 3 and "Student" in h[0] and "ID" in h[1]
    split = len(h) > 4 and h[0] == "LastName" and h[1] == "FirstName" and "ID" in h[2]
    return (student or split) and "Section" in h


def read_roster(table: Table, id_column: str | None = None) -> Roster | None:
    """A Canvas gradebook export: SIS User ID as the id (Canvas's ID where the course has no SIS ids)."""
    if not is_canvas_header(table.header) or "SIS Login ID" not in table.header:  # the exporter always writes it
        return None
    source = table.source
    columns = Columns(table.header)
    at = {name: columns.find(name) for name in IDENTITY}
    first_last = at["Student"] is None

    def name_of(row: Sequence[str]) -> str:
        if first_last:
            return " ".join(_unwrap(x) for x in (cell(row, at["FirstName"]), cell(row, at["LastName"])) if x)
        return _unwrap(cell(row, at["Student"]))

    def skip(row: Sequence[str]) -> str | None:
        if "Points Possible" in (row[0] if row else ""):
            return "Points Possible"
        if all(_HIDDEN_ROW.fullmatch(c) for c in row):
            return "Manual Posting"
        name = name_of(row).lower()
        test_name = name in _TEST_NAMES or (first_last and name == "test student")
        if not cell(row, at["SIS User ID"]) and (test_name or _TEST_LOGIN.fullmatch(cell(row, at["SIS Login ID"]))):
            return "Test Student"
        return None

    notes = []
    if id_column is not None:
        id_at = chosen_column(columns, id_column, source)
    else:
        sis = at["SIS User ID"]
        people = [row for row in table.rows if not skip(row)]
        without = sum(not cell(row, sis) for row in people) if sis is not None else len(people)
        if sis is not None and people and not without:
            id_at = sis
        else:
            id_at = at["ID"]
            if people:
                why = "there is no SIS User ID column" if sis is None else f"{without} of {len(people)} students have no SIS User ID"
                notes.append(f"{source}: {why}, so the ids are Canvas's ID (canvas.csv matches students by it)")
    identity = {name: i for name, i in at.items() if i is not None}
    return build_roster(table, "Canvas gradebook export", id_at, name_of, identity, skip=skip, notes=notes)


# --- grade import file --------------------------------------------------------------------------

# Written as Canvas's gradebook importer reads it (instructure/canvas-lms app/models/gradebook_importer.rb):
# the header "Student", "ID", ["SIS User ID",] "SIS Login ID", "Section", then the exam (#update_column_count:
# SIS User ID must be followed by SIS Login ID, and Section ends the student columns); a row whose first
# cell holds "Points Possible" sets a new assignment's points (#process_pp). Students are found by ID,
# else SIS User ID, else SIS Login ID, else name (#process_student). A student left out is not touched.


def grade_file(grades: Grades, title: str, options: GradeOptions) -> GradeFile:
    """canvas.csv: the roster's own Canvas columns, the Points Possible row and the exam's scores."""
    from . import GradeFile, marks

    m = marks(grades, options)
    # Only a Canvas roster's or Student Analysis report's ID is Canvas's user id (the importer looks
    # students up by it first); no other roster gives both an "ID" and a "Section". Anyone else
    # (nnexam's own ids, another LMS's, a respondent graded from a plain submissions file) is
    # written with the nnexam id as SIS User ID, which Canvas looks up next.
    canvas_user = lambda s: "Section" in s.identity and "ID" in s.identity  # noqa: E731
    everyone = grades.manifest.students  # the header is the class's, whoever submitted
    with_sis = not all(map(canvas_user, everyone)) or any("SIS User ID" in s.identity for s in everyone)
    from_canvas = list(map(canvas_user, m.students))
    header = ["Student", "ID"] + ["SIS User ID"] * with_sis + ["SIS Login ID", "Section"]

    def column(name: str) -> list[str]:
        if name == "Student":
            return [s.name for s in m.students]
        if name == "SIS User ID":
            return [s.identity.get(name, "") if c else s.id for s, c in zip(m.students, from_canvas)]
        return [s.identity.get(name, "") if c else "" for s, c in zip(m.students, from_canvas)]

    head = (_csv_row([*header, title])  # each cell through csvout.cell (neutral once)
            + _csv_row(["    Points Possible"] + [""] * (len(header) - 1) + [m.out_of]))
    text = head + _csv_lines([_csv_texts(column(name)) for name in header] + [m.scores])
    how = (f"canvas.csv: in Canvas, Grades > Import, choose canvas.csv, Upload Data; it adds the assignment "
           f"'{title}' out of {m.out_of} points (or fills the one named so), {len(m.students)} students; review, then "
           "Save Changes")
    return GradeFile("canvas.csv", text.encode("utf-8"), how)


# --- quiz export --------------------------------------------------------------------------------
# canvas-qti.zip for Settings > Import Course Content > "QTI .zip file", in the layout Canvas's own
# QTI export writes (instructure/canvas-lms lib/cc/qti/qti_manifest.rb, qti_generator.rb
# generate_quiz(quiz, false), qti_items.rb): imsmanifest.xml lists the assessment
# (type imsqti_xmlv1p2, <id>/<id>.xml) with its assessment_meta.xml and every image as
# webcontent; the assessment's root_section holds one question group (a <section> with
# selection_ordering/selection/selection_number 1 and points_per_item) of one
# fill_in_multiple_blanks_question item per variant: a [blank] per answer in the text, and per
# blank a response_lid ident="response_<blank>" whose response_labels are the accepted strings
# (gems/plugins/qti_exporter/lib/qti/fill_in_the_blank.rb process_canvas reads each as a 100%
# answer of that blank). Canvas compares blanks as strings, so every string a student could type
# inside the accepted interval at the stated decimals is listed.


_QTI_NS = ('xmlns="http://www.imsglobal.org/xsd/ims_qtiasiv1p2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://www.imsglobal.org/xsd/ims_qtiasiv1p2 http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"')
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed: the same exam gives the same zip bytes


def _ident(*parts: str) -> str:
    return "g" + hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]


def blank_ids(labels: Sequence[str]) -> list[str]:
    """A blank name per answer label (letters, digits and _ only, unique): dE/dw5 -> dE_dw5."""
    out: list[str] = []
    for i, label in enumerate(labels):
        b = re.sub(r"[^A-Za-z0-9_]+", "_", label).strip("_") or f"a{i + 1}"
        while b in out:
            b += f"_{i + 1}"
        out.append(b)
    return out


def _meta(label: str, entry: str) -> str:
    return f"<qtimetadatafield><fieldlabel>{label}</fieldlabel><fieldentry>{_xml_escape(entry)}</fieldentry></qtimetadatafield>"


def _points(x: float) -> str:
    return f"{x:.1f}" if float(x).is_integer() else f"{x:g}"


def export_quiz(manifest: Manifest, options: QuizOptions | None = None) -> dict[str, bytes]:
    """canvas-qti.zip: one quiz whose question group picks 1 of the pool's variants."""
    options = options or QuizOptions()
    require_pool(manifest, "Canvas")
    title = quiz_title(manifest, options)
    key, low, high = accepted_bounds(manifest)
    qs = manifest.questions
    blanks = blank_ids([q.label for q in qs])
    total = sum(q.points for q in qs)
    quiz_id = _ident(manifest.bank_hash, manifest.seed, "quiz")
    meta_id = _ident(manifest.bank_hash, manifest.seed, "meta")
    group_id = _ident(manifest.bank_hash, manifest.seed, "group")
    files: dict[str, bytes] = {}
    items = []
    answer_id = 1000
    for i, v in enumerate(manifest.students):
        image = f"diagrams/{v.id}-{v.variant}.svg"
        files[image] = diagram(manifest, i)
        text = question_html(manifest, i, lambda qi: f"[{blanks[qi]}]", image, title)
        ids, lids, conds = [], [], []
        for qi, q in enumerate(qs):
            labels = []
            first = answer_id
            for s in accepted_strings(float(key[i, qi]), float(low[i, qi]), float(high[i, qi]), q.decimals,
                                      options.decimal_comma):
                labels.append(f'<response_label ident="{answer_id}"><material><mattext texttype="text/plain">'
                              f"{_xml_escape(s)}</mattext></material></response_label>")
                ids.append(str(answer_id))
                answer_id += 1
            lids.append(f'<response_lid ident="response_{blanks[qi]}"><material><mattext>{blanks[qi]}</mattext></material>'
                        f"<render_choice>{''.join(labels)}</render_choice></response_lid>")
            conds.append(f'<respcondition><conditionvar><varequal respident="response_{blanks[qi]}">{first}</varequal>'
                         f'</conditionvar><setvar varname="SCORE" action="Add">{100 / len(qs):.2f}</setvar></respcondition>')
        item_id = _ident(manifest.bank_hash, manifest.seed, v.variant)
        items.append(
            f'<item ident="{item_id}" title={_attr(f"{title} {v.id} {v.variant}")}>'
            "<itemmetadata><qtimetadata>"
            + _meta("question_type", "fill_in_multiple_blanks_question") + _meta("points_possible", _points(total))
            + _meta("original_answer_ids", ",".join(ids))
            + "</qtimetadata></itemmetadata>"
            f'<presentation><material><mattext texttype="text/html">{_xml_escape(f"<div>{text}</div>")}</mattext></material>'
            + "".join(lids) + "</presentation>"
            '<resprocessing><outcomes><decvar maxvalue="100" minvalue="0" varname="SCORE" vartype="Decimal"/></outcomes>'
            + "".join(conds) + "</resprocessing></item>")
    assessment = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<questestinterop {_QTI_NS}>\n'
        f'<assessment ident="{quiz_id}" title={_attr(title)}>'
        "<qtimetadata>" + _meta("cc_maxattempts", "1") + "</qtimetadata>"
        '<section ident="root_section">'
        f'<section ident="{group_id}" title={_attr(f"{title}: one variant per student")}>'
        "<selection_ordering><selection><selection_number>1</selection_number>"
        f"<selection_extension><points_per_item>{_points(total)}</points_per_item></selection_extension>"
        "</selection></selection_ordering>\n" + "\n".join(items) + "\n</section></section></assessment>\n</questestinterop>\n")
    meta = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<quiz identifier="{quiz_id}" xmlns="http://canvas.instructure.com/xsd/cccv1p0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://canvas.instructure.com/xsd/cccv1p0 https://canvas.instructure.com/xsd/cccv1p0.xsd">\n'
        f"  <title>{_xml_escape(title)}</title>\n"
        f"  <description>{_xml_escape(f'<p>{len(manifest.students)} variants made by nnexam (seed {manifest.seed}); each student gets one at random.</p>')}</description>\n"
        "  <shuffle_answers>false</shuffle_answers>\n  <scoring_policy>keep_highest</scoring_policy>\n"
        "  <hide_results></hide_results>\n  <quiz_type>assignment</quiz_type>\n"
        f"  <points_possible>{_points(total)}</points_possible>\n  <allowed_attempts>1</allowed_attempts>\n"
        "  <one_question_at_a_time>false</one_question_at_a_time>\n  <cant_go_back>false</cant_go_back>\n"
        "  <available>false</available>\n</quiz>\n")
    resources = [
        f'<resource identifier="{quiz_id}" type="imsqti_xmlv1p2"><file href="{quiz_id}/{quiz_id}.xml"/>'
        f'<dependency identifierref="{meta_id}"/></resource>',
        f'<resource identifier="{meta_id}" type="associatedcontent/imscc_xmlv1p1/learning-application-resource" '
        f'href="{quiz_id}/assessment_meta.xml"><file href="{quiz_id}/assessment_meta.xml"/></resource>',
    ] + [f'<resource identifier="{_ident(path)}" type="webcontent" href="{path}"><file href="{path}"/></resource>' for path in files]
    manifest_xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest identifier="{_ident(manifest.bank_hash, manifest.seed, "manifest")}" '
        'xmlns="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1" xmlns:lom="http://ltsc.ieee.org/xsd/imsccv1p1/LOM/resource" '
        'xmlns:imsmd="http://www.imsglobal.org/xsd/imsmd_v1p2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1 http://www.imsglobal.org/xsd/imscp_v1p1.xsd">\n'
        "<metadata><schema>IMS Content</schema><schemaversion>1.1.3</schemaversion>"
        f"<imsmd:lom><imsmd:general><imsmd:title><imsmd:string>{_xml_escape(f'QTI Quiz Export: {title}')}</imsmd:string>"
        "</imsmd:title></imsmd:general></imsmd:lom></metadata>\n"
        "<organizations/>\n<resources>\n" + "\n".join(resources) + "\n</resources>\n</manifest>\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("imsmanifest.xml", manifest_xml.encode("utf-8")),
                           (f"{quiz_id}/{quiz_id}.xml", assessment.encode("utf-8")),
                           (f"{quiz_id}/assessment_meta.xml", meta.encode("utf-8")), *files.items()]:
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return {"canvas-qti.zip": buf.getvalue()}


# --- quiz responses -----------------------------------------------------------------------------
# The quiz's Student Analysis report (Quiz Statistics > Student Analysis, CSV), as
# instructure/canvas-lms app/models/quizzes/quiz_statistics/student_analysis.rb to_csv writes it:
# name, id, [sis_id], [root_account], section, section_id, [section_sis_id], submitted, [attempt],
# then per question "<question id>: <question text without tags>" and a column headed by its
# points, then "n correct", "n incorrect", "score". A fill-in-multiple-blanks answer is its blanks
# in order, joined by ',' with each ',' inside an answer written '\,'. With a question group every
# variant is its own column pair, blank for the students who did not draw it.


_QUESTION_COLUMN = re.compile(r"\d+:")
_SPLIT = re.compile(r"(?<!\\),")


def blanks_of(text: str) -> list[str]:
    """A fill-in-multiple-blanks cell's answers: split on ',' but not '\\,'."""
    return [p.replace("\\,", ",").strip() for p in _SPLIT.split(text)]


def read_responses(table: Table, manifest: Manifest) -> Table | None:
    """Canvas's Student Analysis report as a submissions table; None when the table is not one."""
    header = table.header
    if any(column(header, n) is None for n in ("name", "id", "submitted", "n correct", "score")):
        return None
    codes = variant_codes(manifest)
    questions = [(c, find_variant(h, codes)) for c, h in enumerate(header) if _QUESTION_COLUMN.match(h)]
    ids = [column(header, "sis_id"), column(header, "id")]
    identity = {"ID": ids[1], "SIS User ID": ids[0], "Section": column(header, "section")}  # as canvas.csv names them
    name = [column(header, "name")]
    attempt = column(header, "attempt")
    nq = len(manifest.questions)
    entries, when = [], []
    for r, row in enumerate(table.rows):
        sid, who = respondent(row, ids, name)
        variant, answers = "", [""] * nq
        for c, code in questions:
            text = cell(row, c)
            if not text:
                continue
            parts = blanks_of(text)
            if len(parts) != nq:
                why = f"(blanks cannot be matched: {len(parts)} answers for {nq} blanks)"
                parts = [why] * nq
            variant, answers = code, parts
            break
        entries.append((r, sid, who, variant, answers))
        a = cell(row, attempt)
        when.append(float(a) if a.isdigit() else float("nan"))
    return submissions_table(table, manifest, entries, "Canvas quiz Student Analysis report", when, identity)
