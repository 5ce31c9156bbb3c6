"""Make docs/sheet.png and docs/key.png, the pictures the README shows: `python scripts/docs_images.py`.

One student of a bundled bank (classic by default, seed "docs"), rendered as the CLI renders it;
page 1 of the sheet and page 2 of the key (the worked solution) rasterized at 100 dpi with
poppler's pdftoppm (apt-get install poppler-utils). The same bank, seed and nnexam version give
the same pictures.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nnexam.bank import load_bank
from nnexam.generate import generate
from nnexam.render import render_key, render_sheet

DOCS = Path(__file__).resolve().parent.parent / "docs"


def rasterize(pdf: bytes, page: int, out: Path, dpi: int) -> None:
    """Page `page` (1-based) of `pdf` as a PNG at `out`."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                        str(src), str(Path(tmp) / "page")], check=True)
        shutil.copyfile(Path(tmp) / "page.png", out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bank", default="classic", help="a bundled bank's name or a bank file (default: classic)")
    p.add_argument("--seed", default="docs")
    p.add_argument("--paper", default="a4", choices=["a4", "letter"])
    p.add_argument("--dpi", type=int, default=100)
    p.add_argument("--key-page", type=int, default=2, help="the key's page to show (default 2: the worked solution)")
    p.add_argument("--out", type=Path, default=DOCS)
    args = p.parse_args(argv)
    if shutil.which("pdftoppm") is None:
        print("docs_images: pdftoppm not found (apt-get install poppler-utils)", file=sys.stderr)
        return 2
    manifest = generate(load_bank(args.bank), args.seed, [("s001", "Ada Lovelace")])
    student = manifest.students[0]
    args.out.mkdir(parents=True, exist_ok=True)
    key = render_key(manifest, student, paper=args.paper)
    pages = len(re.findall(rb"/Type\s*/Page\b", key))
    if not 1 <= args.key_page <= pages:
        print(f"docs_images: --key-page {args.key_page}: the key has {pages} pages", file=sys.stderr)
        return 2
    rasterize(render_sheet(manifest, student, paper=args.paper), 1, args.out / "sheet.png", args.dpi)
    rasterize(key, args.key_page, args.out / "key.png", args.dpi)
    for name in ("sheet.png", "key.png"):
        print(f"{args.out / name}: {(args.out / name).stat().st_size // 1024} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
