"""The class files sheets.pdf and keys.pdf: a front side per student, one name per font subset, fonts stored once."""

from __future__ import annotations

import io
import re

import pypdf
import pytest

from nnexam.bank import load_bank
from nnexam.cli import cli
from nnexam.generate import generate
from nnexam.render import bundle, render_key, render_sheet

INTL = ["王小明", "山田 はなこ", "김민준", "محمد علي", "דוד לוי", "अमित शर्मा", "สมชาย ใจดี", "Ελένη Παπαδοπούλου",
        "Иван Петров", "José Müller"]
ASCII = ["Alice Smith", "Bob Jones", "Carol King", "Dan Brown", "Eve Adams", "Frank Moore", "Gina Lee", "Hal Ford",
         "Ivy Chen", "Jon Snow"]


@pytest.fixture(scope="module")
def classes():
    """The same exam for two classes of ten: names in many scripts, and ASCII names; (sheets, keys) each."""
    out = {}
    for label, names in (("intl", INTL), ("ascii", ASCII)):
        m = generate(load_bank("classic"), "bundle-tests", [(f"s{i}", n) for i, n in enumerate(names, 1)])
        out[label] = ([render_sheet(m, s) for s in m.students], [render_key(m, s) for s in m.students])
    return out


def _pages(data: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(data)).pages)


def _fonts(reader: pypdf.PdfReader) -> list:
    out = []
    for page in reader.pages:
        for ref in page.get("/Resources", {}).get("/Font", {}).values():
            out.append(ref.get_object())
    return out


def test_every_student_starts_on_a_front_side(classes):
    keys = classes["intl"][1]
    counts = [_pages(k) for k in keys]
    assert any(c % 2 for c in counts)  # the classic key has 3 pages: padding is needed
    marks = [f"s{i}" for i in range(len(keys))]
    reader = pypdf.PdfReader(io.BytesIO(bundle(keys, marks, "Keys")))
    starts = [reader.get_destination_page_number(o) for o in reader.outline]
    padded = [c + c % 2 for c in counts]
    assert starts == [sum(padded[:i]) for i in range(len(keys))]
    assert len(reader.pages) == sum(padded)
    for start, c in zip(starts, counts):
        if c % 2:
            blank = reader.pages[start + c]
            assert blank.extract_text() == "" and "/Contents" not in blank
            assert blank.mediabox == reader.pages[start].mediabox
    simplex = pypdf.PdfReader(io.BytesIO(bundle(keys, marks, "Keys", duplex=False)))
    assert [simplex.get_destination_page_number(o) for o in simplex.outline] == [sum(counts[:i]) for i in range(len(keys))]


def test_each_font_subset_has_its_own_name_and_every_font_is_embedded(classes):
    for docs in classes["intl"]:
        data = bundle(docs, [f"s{i}" for i in range(len(docs))], "Class")
        reader = pypdf.PdfReader(io.BytesIO(data))
        programs: dict[str, set[bytes]] = {}
        for font in _fonts(reader):
            descriptor = font["/FontDescriptor"].get_object()
            assert font["/Subtype"] == "/TrueType" and "/FontFile2" in descriptor
            assert descriptor["/FontName"] == font["/BaseFont"]
            assert re.fullmatch(r"/[A-Z]{6}\+[\w-]+", str(font["/BaseFont"]))
            programs.setdefault(str(font["/BaseFont"]), set()).add(descriptor["/FontFile2"].get_object().get_data())
        assert all(len(p) == 1 for p in programs.values()), {k: len(v) for k, v in programs.items()}
        # ... while each student's own file names its subsets AAAAAA+..., the same names for different programs
        singles = {}
        for d in docs:
            own: dict[str, set[bytes]] = {}
            for font in _fonts(pypdf.PdfReader(io.BytesIO(d))):
                program = font["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
                singles.setdefault(str(font["/BaseFont"]), set()).add(program)
                own.setdefault(str(font["/BaseFont"]), set()).add(program)
            assert all(len(p) == 1 for p in own.values())  # within one student's file, too
        assert any(len(p) > 1 for p in singles.values())
        assert len(programs) == len({p for ps in singles.values() for p in ps})  # one name per distinct program


def test_a_bundle_stores_each_distinct_font_program_once(classes):
    for label in ("intl", "ascii"):
        for docs in classes[label]:
            data = bundle(docs, [f"s{i}" for i in range(len(docs))], "Class")
            distinct = set()
            for d in docs:
                for font in _fonts(pypdf.PdfReader(io.BytesIO(d))):
                    distinct.add(font["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data())
            stored = len(re.findall(rb"/Length1 \d+", data))  # each embedded TrueType program carries /Length1
            assert stored == len(distinct)
    # Names in many scripts cost their own small subsets only: today's 2.6x is down to well under 2x.
    for intl, plain in zip(classes["intl"], classes["ascii"]):
        marks = [f"s{i}" for i in range(10)]
        ratio = len(bundle(intl, marks, "")) / len(bundle(plain, marks, ""))
        assert ratio < 2.0, ratio


def test_cli_pads_by_default_and_simplex_turns_it_off(runner, tmp_path):
    for flag, folder in (([], "duplex"), (["--simplex"], "simplex")):
        out = tmp_path / folder
        result = runner.invoke(cli, ["generate", "--seed", "p", "--students", "2", "--out", str(out), "--jobs", "1", *flag])
        assert result.exit_code == 0, result.output
        per_student = [_pages((out / "keys" / f"s00{i}.pdf").read_bytes()) for i in (1, 2)]
        expected = sum(c + c % 2 for c in per_student) if not flag else sum(per_student)
        assert _pages((out / "keys.pdf").read_bytes()) == expected
        assert any(c % 2 for c in per_student)
    render = runner.invoke(cli, ["render", str(tmp_path / "duplex"), "--force", "--simplex", "--jobs", "1"])
    assert render.exit_code == 0, render.output
    assert _pages((tmp_path / "duplex" / "keys.pdf").read_bytes()) == _pages((tmp_path / "simplex" / "keys.pdf").read_bytes())
