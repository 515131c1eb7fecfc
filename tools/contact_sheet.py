"""Contact sheets of the journey screenshots (`python -m tools.contact_sheet`, run by `make screenshots`).

Reads docs/screenshots/<size>/<lang>/<name>.png, written by the browser journeys with
BETWEEN_SCREENSHOTS=1, and writes one sheet per size, docs/screenshots/contact-sheet-<size>.png:
every page as a thumbnail of its top (a phone screen and a quarter, one laptop screen),
English and Spanish side by side where a journey walks both, labelled with the screenshot's name. The individual
PNGs stay out of git; the sheets are committed, so a reviewer sees the whole product at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
LANGS = ("en", "es")
# Per size: thumbnail width, how much of the page (height / width) shows, cells per row.
LAYOUT = {"phone": (160, 780 * 1.25 / 360, 10), "desktop": (320, 800 / 1280, 5)}
LABEL = 18
GAP = 8
BACKGROUND = (232, 232, 232)
MISSING = (250, 250, 250)


def _thumbnail(path: Path, width: int, ratio: float) -> Image.Image:
    height = round(width * ratio)
    with Image.open(path) as image:
        shot = image.convert("RGB")
    top = shot.crop((0, 0, shot.width, min(shot.height, round(shot.width * ratio))))
    scaled = top.resize((width, round(top.height * width / top.width)), Image.Resampling.LANCZOS)
    cell = Image.new("RGB", (width, height), MISSING)
    cell.paste(scaled, (0, 0))
    return cell


def sheet(size: str, folder: Path = ROOT) -> Path | None:
    """Write docs/screenshots/contact-sheet-<size>.png; None when there is no screenshot of that size."""
    width, ratio, per_row = LAYOUT[size]
    names = sorted({path.stem for lang in LANGS for path in (folder / size / lang).glob("*.png")})
    if not names:
        return None
    # A page walked in one language only takes one cell: no blanks.
    cells = [
        (name, lang, folder / size / lang / f"{name}.png")
        for name in names
        for lang in LANGS
        if (folder / size / lang / f"{name}.png").exists()
    ]
    height = round(width * ratio)
    rows = -(-len(cells) // per_row)
    canvas = Image.new("RGB", (GAP + per_row * (width + GAP), GAP + rows * (height + LABEL + GAP)), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=12)
    for index, (name, lang, path) in enumerate(cells):
        x = GAP + (index % per_row) * (width + GAP)
        y = GAP + (index // per_row) * (height + LABEL + GAP)
        draw.text((x, y + 2), f"{name} · {lang}", fill=(20, 20, 20), font=font)
        canvas.paste(_thumbnail(path, width, ratio), (x, y + LABEL))
    out = folder / f"contact-sheet-{size}.png"
    # A palette keeps the committed sheets small; screenshots of pages have few colours.
    canvas.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


def main() -> int:
    written = [path for path in (sheet(size) for size in LAYOUT) if path is not None]
    if not written:
        print(f"no screenshots under {ROOT}: run `make screenshots`", file=sys.stderr)
        return 1
    for path in written:
        print(path.relative_to(ROOT.parents[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
