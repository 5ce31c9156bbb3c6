"""Concatenate the PDFs this package writes into one file with a bookmark per document.

The class files (sheets.pdf, keys.pdf) are made from the per-student PDFs already rendered, so
each student is typeset once. reportlab cannot import pages, so this reads its own output: a
classic cross-reference table, direct /Length values, and no strings in the objects we copy (page
dictionaries, content streams, fonts). Objects are copied byte for byte with their references
renumbered; objects that come out identical (shared font programs, resources) are stored once.

Two more things make the class files print-ready. Each student starts on a front side: a student
with an odd number of pages is followed by a blank page (unless `duplex=False`). And each font
subset gets its own name: reportlab names the subsets of every file AAAAAA+Font, AAAAAB+Font, ...,
so two students' different subsets of one font would share a name in the bundle, which PDF forbids
(ISO 32000-1, 9.6.4); the bundle renames every subset after a hash of its font program, so equal
subsets keep one name (and are stored once) and different ones get different names.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

from ..errors import NnexamError

_REF = re.compile(rb"(\d+) 0 R\b")
_FONT_FILE = re.compile(rb"/FontFile2 (\d+) 0 R")
_DESCRIPTOR = re.compile(rb"/FontDescriptor (\d+) 0 R")
_FONT_NAME = re.compile(rb"/(FontName|BaseFont) /[A-Z]{6}\+")
_INTERNAL_NAME = re.compile(rb"/Name /F\d+\+\d+ ?")
_MEDIA_BOX = re.compile(rb"/MediaBox \[[^\]]*\]")
_STREAM = re.compile(rb">>\s*stream\r?\n")


def _parse(pdf: bytes, which: int) -> tuple[dict[int, bytes], list[int]]:
    """Objects by number (body without `n 0 obj` / `endobj`) and the page numbers in order."""
    try:
        start = int(pdf[pdf.rindex(b"startxref") + 9 :].split()[0])
        head = pdf[start:].split(b"\n", 2)
        count = int(head[1].split()[1])
        table = head[2]
        offsets = {i: int(table[20 * (i - 0): 20 * (i - 0) + 10]) for i in range(1, count)}
        trailer = pdf[pdf.rindex(b"trailer") :]
        root = int(re.search(rb"/Root (\d+) 0 R", trailer).group(1))
    except (ValueError, AttributeError, IndexError):
        raise NnexamError(f"document {which + 1}: not a PDF this package wrote (cannot read its cross-reference table)") from None
    ends = sorted(offsets.values()) + [start]
    following = {o: ends[i + 1] for i, o in enumerate(ends[:-1])}
    objects = {}
    for n, off in offsets.items():
        raw = pdf[off : following[off]]
        body = raw[raw.index(b"obj") + 3 : raw.rindex(b"endobj")].strip(b"\r\n ")
        objects[n] = body
    pages_ref = int(re.search(rb"/Pages (\d+) 0 R", objects[root]).group(1))
    kids = re.search(rb"/Kids \[([^\]]*)\]", objects[pages_ref]).group(1)
    pages = [int(m.group(1)) for m in _REF.finditer(kids)]
    return objects, pages


def _text_string(s: str) -> bytes:
    """A PDF text string in UTF-16BE with a BOM (bookmark titles with any letters)."""
    return b"<FEFF" + s.encode("utf-16-be").hex().upper().encode() + b">"


def _tag(program: bytes, salt: int = 0) -> bytes:
    """Six capital letters from a hash of a font program: the subset's name prefix."""
    digest = hashlib.sha256(program + bytes([salt])).digest()
    return bytes(65 + b % 26 for b in digest[:6])


class _Writer:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.seen: dict[bytes, int] = {}
        self.tags: dict[int, bytes] = {}  # font program or descriptor object -> its subset's tag
        self.programs: dict[bytes, bytes] = {}  # tag -> the font program it names (to avoid collisions)

    def tag_for(self, program_ref: int) -> bytes:
        if program_ref not in self.tags:
            program, salt = self.bodies[program_ref - 1], 0
            tag = _tag(program)
            while self.programs.setdefault(tag, program) != program:  # two programs, one hash: next tag
                salt += 1
                tag = _tag(program, salt)
            self.tags[program_ref] = tag
        return self.tags[program_ref]

    def reserve(self) -> int:
        self.bodies.append(b"")
        return len(self.bodies)

    def put(self, body: bytes, n: int | None = None, share: bool = False) -> int:
        if share and body in self.seen:
            return self.seen[body]
        if n is None:
            n = self.reserve()
        self.bodies[n - 1] = body
        if share:
            self.seen[body] = n
        return n


def bundle(docs: Sequence[bytes], titles: Sequence[str], title: str = "", duplex: bool = True) -> bytes:
    """One PDF with every page of `docs` in order and a bookmark (titles[i]) at each document's first page.

    `duplex`: a blank page after each document with an odd number of pages, so that printed
    double-sided every document starts on a front side.
    """
    if len(docs) != len(titles):
        raise ValueError("one title per document")
    w = _Writer()
    pages_id = w.reserve()
    all_pages: list[int] = []
    firsts: list[int] = []
    for i, pdf in enumerate(docs):
        objects, pages = _parse(pdf, i)
        mapped: dict[int, int] = {}
        page_set = set(pages)

        def renumber(head: bytes) -> bytes:
            return _REF.sub(lambda r: b"%d 0 R" % copy(int(r.group(1))), head)

        def copy(n: int) -> int:
            if n in mapped:
                return mapped[n]
            body = objects[n]
            m = _STREAM.search(body)
            head, tail = (body[: m.start()], body[m.start():]) if m else (body, b"")
            if n in page_set:
                # A page points back to its parent: drop that link, copy the rest, point at the new tree.
                mine = mapped[n] = w.reserve()
                head = renumber(re.sub(rb"/Parent \d+ 0 R", b"", head)).rstrip()
                return w.put(head[:-2] + b" /Parent %d 0 R >>" % pages_id, mine)
            head, tag = _rename_subset(w, renumber(head))
            mapped[n] = w.put(head + tail, share=True)
            if tag and b"/FontFile2" in head:
                w.tags[mapped[n]] = tag  # the descriptor: its font dictionary takes the same name
            return mapped[n]

        new_pages = [copy(p) for p in pages]
        if not new_pages:
            raise NnexamError(f"document {i + 1}: has no pages")
        if duplex and len(new_pages) % 2:
            box = _MEDIA_BOX.search(objects[pages[-1]])
            blank = box.group(0) if box else b"/MediaBox [ 0 0 595.2756 841.8898 ]"
            new_pages.append(w.put(b"<< /Type /Page /Parent %d 0 R %s /Resources << >> >>" % (pages_id, blank)))
        firsts.append(new_pages[0])
        all_pages += new_pages
    kids = b" ".join(b"%d 0 R" % p for p in all_pages)
    w.put(b"<< /Type /Pages /Count %d /Kids [ %s ] >>" % (len(all_pages), kids), pages_id)
    outlines = w.reserve()
    items = [w.reserve() for _ in firsts]
    for k, (item, page, t) in enumerate(zip(items, firsts, titles)):
        links = b""
        if k:
            links += b" /Prev %d 0 R" % items[k - 1]
        if k + 1 < len(items):
            links += b" /Next %d 0 R" % items[k + 1]
        w.put(b"<< /Title %s /Parent %d 0 R%s /Dest [ %d 0 R /Fit ] >>" % (_text_string(t), outlines, links, page), item)
    if items:
        w.put(b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (items[0], items[-1], len(items)), outlines)
    else:
        w.put(b"<< /Type /Outlines /Count 0 >>", outlines)
    root = w.put(b"<< /Type /Catalog /Pages %d 0 R /Outlines %d 0 R /PageMode /UseOutlines >>" % (pages_id, outlines))
    info = w.put(b"<< /Producer (nnexam) /Creator (nnexam) /Title %s >>" % _text_string(title))
    return _serialize(w.bodies, root, info)


def _rename_subset(w: _Writer, head: bytes) -> tuple[bytes, bytes | None]:
    """A font descriptor or font dictionary (already renumbered) named after its font program; other objects as they are."""
    m = _FONT_FILE.search(head)
    if m:
        tag = w.tag_for(int(m.group(1)))
    else:
        m = _DESCRIPTOR.search(head)
        if not m or int(m.group(1)) not in w.tags:
            return head, None
        tag = w.tags[int(m.group(1))]
    head = _FONT_NAME.sub(lambda r: b"/%s /%s+" % (r.group(1), tag), head)
    # A font dictionary's /Name is the file's own resource name (F1+0, F2+0: by the order a file
    # first used its fonts); PDF 1.2+ ignores it, and dropping it lets equal subsets share one object.
    return _INTERNAL_NAME.sub(b"", head), tag


def _serialize(bodies: list[bytes], root: int, info: int) -> bytes:
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    pos = len(out[0])
    offsets = []
    for n, body in enumerate(bodies, 1):
        chunk = b"%d 0 obj\n%s\nendobj\n" % (n, body)
        offsets.append(pos)
        out.append(chunk)
        pos += len(chunk)
    digest = hashlib.md5(b"".join(out)).hexdigest().encode()  # a content id: same pages, same file
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)]
    xref += [b"%010d 00000 n \n" % o for o in offsets]
    trailer = (b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [ <%s> <%s> ] >>\nstartxref\n%d\n%%%%EOF\n"
               % (len(bodies) + 1, root, info, digest, digest, pos))
    return b"".join(out) + b"".join(xref) + trailer
