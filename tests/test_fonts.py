"""Names in any script: which font draws each letter, shaping, the PDFs' text and fonts, the warning, linear layout."""

from __future__ import annotations

import io
import time
import unicodedata

import pypdf
import pytest
from reportlab.pdfbase.ttfonts import TTFontFile

from nnexam import fonts
from nnexam.bank import load_bank
from nnexam.cli import cli
from nnexam.generate import generate
from nnexam.manifest import StudentVariant
from nnexam.render import render_key, render_sheet

# One name per script the issue lists; each must print with glyphs, not boxes.
NAMES = {
    "chinese": "王小明",
    "japanese": "山田 はなこ",
    "korean": "김민준",
    "arabic": "محمد علي",
    "hebrew": "דוד לוי",
    "devanagari": "अमित शर्मा",
    "thai": "สมชาย ใจดี",
    "greek": "Ελένη Παπαδοπούλου",
    "cyrillic": "Иван Петров",
}
# The file that must draw each script's letters (not DejaVu Serif, which would show boxes for most).
EXPECTED_FILE = {
    "chinese": "DroidSansFallback-Subset.ttf", "japanese": "DroidSansFallback-Subset.ttf",
    "korean": "DroidSansFallback-Subset.ttf", "arabic": "NotoSansArabic-Regular.ttf",
    "hebrew": "NotoSansHebrew-Regular.ttf", "devanagari": "NotoSansDevanagari-Regular.ttf",
    "thai": "NotoSansThai-Regular.ttf", "greek": "DejaVuSerif-Bold.ttf", "cyrillic": "DejaVuSerif-Bold.ttf",
}


@pytest.fixture(scope="module")
def cmaps() -> dict[str, dict]:
    """Each shipped font file's own cmap, read afresh from the file (not through the registered fonts)."""
    return {f.name: TTFontFile(str(f)).charToGlyph for f in fonts.FONT_DIR.glob("*.ttf")}


@pytest.fixture(scope="module")
def exam():
    return generate(load_bank("classic"), "fonts", [(f"s{i}", n) for i, n in enumerate(NAMES.values(), 1)])


def _file_of(font: str) -> str:
    from reportlab.pdfbase.pdfmetrics import getFont

    return getFont(font).face.filename.rsplit("/", 1)[-1]


@pytest.mark.parametrize("script", NAMES)
def test_every_letter_of_the_name_is_in_the_cmap_of_the_font_that_draws_it(script, cmaps):
    name = NAMES[script]
    assert fonts.missing(name) == ""
    drawn = fonts.runs(name, "DejaVuSerif-Bold")
    assert "".join(t for t, _ in drawn).replace(" ", "") == fonts.visual(name).replace(" ", "")
    for text, font in drawn:
        file = _file_of(font)
        for ch in text:
            assert ord(ch) in cmaps[file], (script, ch, file)
            if not ch.isspace():
                assert file == EXPECTED_FILE[script], (script, ch, file)


def test_arabic_takes_its_joining_forms_and_reads_right_to_left():
    # Unicode charts: MEEM initial FEE3, HAH medial FEA4, MEEM medial FEE4, DAL final FEAA.
    assert fonts.visual("محمد") == "\ufeaa\ufee4\ufea4\ufee3"
    # SEEN initial FEB3, LAM WITH ALEF final FEFC (one ligature), MEEM isolated FEE1.
    assert fonts.visual("سلام") == "\ufee1\ufefc\ufeb3"
    # ALEF does not join forwards: ALEF isolated FE8D, then HAH initial FEA3, MEEM medial FEE4, DAL final FEAA.
    assert fonts.visual("احمد") == "\ufeaa\ufee4\ufea3\ufe8d"
    # Undoing the shaping (NFKC maps presentation forms back) and the order gives the name back.
    for name in ("محمد علي", "فاطمة الزهراء", "عبد الله"):
        v = fonts.visual(name)
        assert all("\ufb50" <= c <= "\ufeff" or c == " " for c in v)
        assert unicodedata.normalize("NFKC", v[::-1]) == name


def test_hebrew_is_reversed_and_latin_around_it_is_not():
    assert fonts.visual("דוד לוי") == "יול דוד"
    assert fonts.visual("דוד לוי (s5) · variant 3") == "יול דוד (s5) · variant 3"
    assert fonts.visual("Dr. דוד 12") == "Dr. דוד 12"[:4] + "דוד"[::-1] + " 12"


def test_devanagari_short_i_is_drawn_before_its_consonant():
    assert fonts.visual("कि") == "\u093f\u0915"
    assert fonts.visual("अमित") == "अ\u093fमत"
    assert fonts.visual("स्थिर") == "\u093fस्थर"  # before the whole cluster स्थ


def test_names_print_in_sheet_and_key_headers_and_footers(exam):
    for s in exam.students:
        for data in (render_sheet(exam, s), render_key(exam, s)):
            reader = pypdf.PdfReader(io.BytesIO(data))
            first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
            for word in s.name.split(" "):
                # pypdf puts right-to-left text back in reading order; NFKC undoes the joining forms
                for text in (first, last):  # header (page 1) and footer (every page)
                    assert fonts.visual(word) in text or word in unicodedata.normalize("NFKC", text), (s.name, word)
            used = set()
            for page in reader.pages:
                for ref in page["/Resources"]["/Font"].values():
                    font = ref.get_object()
                    assert "/FontFile2" in font["/FontDescriptor"].get_object()  # every font embedded
                    used.add(str(font["/BaseFont"]).split("+")[1])
            expected = EXPECTED_FILE[next(k for k, v in NAMES.items() if v == s.name)]
            stem = expected.removesuffix(".ttf")
            if stem.startswith("DejaVu"):
                assert "DejaVuSerif-Bold-Names" in used  # the name's letters in its own subset
            else:
                assert stem.split("-")[0] in {u.split("-")[0] for u in used}, used


def test_names_keep_their_letters_out_of_the_shared_subsets(exam):
    """A student's letters go to small per-name subsets, so every student's shared font programs are equal."""
    programs = []
    for s in exam.students:
        reader = pypdf.PdfReader(io.BytesIO(render_sheet(exam, s)))
        shared = {}
        for ref in reader.pages[1]["/Resources"]["/Font"].values():
            font = ref.get_object()
            base = str(font["/BaseFont"]).split("+")[1]
            if base in ("DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic"):
                shared[base] = font["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
        programs.append(shared)
    assert programs[0] and all(p == programs[0] for p in programs)


def test_a_letter_no_font_has_gives_one_warning_line_naming_the_student_and_the_fix(runner, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,Name\nx1,王𠀋\nx2,Иван Петров\n", encoding="utf-8")
    result = runner.invoke(cli, ["generate", "--seed", "w", "--roster", str(roster), "--out", str(tmp_path / "out"),
                                 "--jobs", "1"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "x1" in warnings[0] and "王𠀋" in warnings[0] and "--font" in warnings[0] and "x2" not in warnings[0]
    quiet = runner.invoke(cli, ["generate", "--seed", "w", "--students", "2", "--out", str(tmp_path / "o2"), "--jobs", "1"])
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr


def test_font_option_refuses_a_file_that_is_not_truetype_in_one_line(runner, tmp_path):
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font at all")
    result = runner.invoke(cli, ["generate", "--seed", "w", "--students", "1", "--out", str(tmp_path / "o"),
                                 "--font", str(bad)])
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1 and "bad.ttf" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "o" / "sheets.pdf").exists()


def test_a_font_given_with_font_comes_before_the_shipped_fallbacks():
    base = "DejaVuSerif"
    assert fonts.coverage_font("א", base) == "NotoSansHebrew"
    try:
        name = fonts.use_font(fonts.FONT_DIR / "DejaVuSans.ttf")  # DejaVu Sans has Hebrew letters too
        assert fonts.coverage_font("א", base) == name
        assert fonts.runs("דוד", base)[0][1] == name
    finally:
        fonts.forget_user_fonts()
    assert fonts.coverage_font("א", base) == "NotoSansHebrew"


def test_a_40000_letter_name_lays_out_in_linear_time(exam):
    s = exam.students[0]
    for name in ("王小明 محمد Zoë " * 2900)[:40_000], "W" * 40_000:
        huge = StudentVariant.of(s.id, name, s.variant, s.network, s.files)
        start = time.perf_counter()
        sheet = render_sheet(exam, huge)
        key = render_key(exam, huge)
        elapsed = time.perf_counter() - start
        assert elapsed < 8.0, elapsed  # quadratic clipping took 212 s
        text = pypdf.PdfReader(io.BytesIO(sheet)).pages[0].extract_text()
        assert "…" in text and len(key) > 0


def test_clip_runs_is_the_longest_prefix_that_fits():
    rs = fonts.runs("Zoë Ångström-Núñez", "DejaVuSerif")
    full = fonts.runs_width(rs, 10)
    for width in (20.0, full / 2, full - 1):
        cut = fonts.clip_runs(rs, 10, width, "DejaVuSerif")
        assert cut[-1][0] == "…" and fonts.runs_width(cut, 10) <= width + 1e-9
        kept = "".join(t for t, _ in cut[:-1])
        longer = "Zoë Ångström-Núñez"[: len(kept) + 1]
        if kept.strip() and not longer[-1].isspace():
            assert fonts.runs_width(fonts.runs(longer, "DejaVuSerif") + (("…", "DejaVuSerif"),), 10) > width
    assert fonts.clip_runs(rs, 10, full + 1, "DejaVuSerif") == rs


def test_a_title_in_cjk_wraps_inside_the_frame_and_a_title_no_font_prints_warns(runner, tmp_path):
    from nnexam.render.blocks import wrap_runs

    title = "反向传播练习：前向传播、反向传播和一次梯度下降步骤，以及更多的内容让它足够长以至于需要换行"
    lines = wrap_runs(title, "DejaVuSerif-Bold", 15, 400)
    assert len(lines) >= 2 and "".join(run[0] for ln in lines for run in ln) == title
    assert all(fonts.runs_width([run[:2] for run in ln], 15) <= 400 for ln in lines)
    result = runner.invoke(cli, ["generate", "--seed", "t", "--students", "1", "--title", "Quiz 𠀋",
                                 "--out", str(tmp_path / "o"), "--jobs", "1"])
    assert result.exit_code == 0
    assert [ln for ln in result.stderr.splitlines() if "warning" in ln] == [
        f"nnexam: warning: the title 'Quiz 𠀋' has letters no font prints ('𠀋'): {fonts.FONT_HINT}"]


def test_font_option_reaches_the_worker_processes(runner, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,Name\nh1,דוד לוי\nh2,Ann\n", encoding="utf-8")
    try:
        result = runner.invoke(cli, ["generate", "--seed", "f", "--roster", str(roster), "--out", str(tmp_path / "o"),
                                     "--jobs", "2", "--font", str(fonts.FONT_DIR / "DejaVuSans.ttf")])
    finally:
        fonts.forget_user_fonts()
    assert result.exit_code == 0, result.output
    reader = pypdf.PdfReader(tmp_path / "o" / "sheets" / "h1.pdf")
    used = {str(ref.get_object()["/BaseFont"]).split("+")[1] for ref in reader.pages[0]["/Resources"]["/Font"].values()}
    assert "DejaVuSans-User" in used and "NotoSansHebrew-Regular" not in used  # the given font drew the Hebrew letters
