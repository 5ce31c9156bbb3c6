"""Concatenate the PDFs this package writes into one file with a bookmark per document.

The class files (sheets.pdf, keys.pdf) are made from the per-student PDFs already rendered, so
each student is typeset once. reportlab cannot import pages, so this reads its own output: a
classic cross-reference table, direct /Length values, and no strings in the objects we copy (page
dictionaries, content streams, fonts). Objects are copied byte for byte with their references
renumbered; objects that come out identical (shared font programs, resources) are stored once.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

from ..errors import NnexamError

_REF = re.compile(rb"(\d+) 0 R\b")
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


class _Writer:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.seen: dict[bytes, int] = {}

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


def bundle(docs: Sequence[bytes], titles: Sequence[str], title: str = "") -> bytes:
    """One PDF with every page of `docs` in order and a bookmark (titles[i]) at each document's first page."""
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
            mapped[n] = w.put(renumber(head) + tail, share=True)
            return mapped[n]

        new_pages = [copy(p) for p in pages]
        if not new_pages:
            raise NnexamError(f"document {i + 1}: has no pages")
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
