#!/usr/bin/env python
"""Build the bundled SVG corpus `data/corpus/corpus.parquet` from package registries.

Every file comes from a pinned package fetched with the registry's own client:
`npm pack <pkg>@<version>` for npm, `apt-get download <pkg>=<version>` + `dpkg-deb -x`
for Debian. Nothing else is downloaded. Each source is cleaned with
`rlrf.data.clean.clean_svg`, sampled deterministically (seeded) under a per-source cap,
render-checked with CairoSVG in worker processes under a timeout, and written as one
zstd Parquet plus `SOURCES.md` (package, version, licence, attribution, sha256, counts).

The corpus stands in for SVG-Stack (paper Sec. 4, App. A), which needs the Hugging Face
hub: short filled icons and flat, filled, colourful flags feed the tiny SFT/GRPO recipe, Openclipart and Tango give long,
colourful, gradient-heavy files closest to SVG-Stack-Hard, emoji and glyphs give
out-of-distribution splits.

Rebuild:  .venv/bin/python scripts/build_corpus.py
          (add --cache-dir DIR to keep and reuse the downloaded packages)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import multiprocessing as mp
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rlrf.data.clean import clean_svg, svg_title  # noqa: E402
from rlrf.data.corpus import CORPUS_SCHEMA  # noqa: E402

log = logging.getLogger("build_corpus")

SHORT_CHARS = 700  # "short" icon: what the tiny recipe trains on


@dataclass(frozen=True)
class Candidate:
    relpath: str  # path inside the package, used for sample_id and origin
    load: Callable[[], str]  # raw SVG text
    caption: str | None  # None: derive after loading (e.g. from <title>)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    registry: str  # "npm" or "deb"
    package: str
    version: str
    license: str
    attribution: str
    cap: int
    collect: str  # name of the collector function below
    short_share: float = 0.0  # share of the cap drawn from files <= SHORT_CHARS
    max_chars: int = 40_000  # cleaned size limit
    max_per_dir: int | None = None  # cap per folder, so one generated series cannot dominate


SOURCES: list[Source] = [
    Source("tabler", "icon", "npm", "@tabler/icons", "3.52.0", "MIT",
           "Tabler Icons, (c) Paweł Kuna, MIT licence, https://tabler.io/icons", 600, "tabler"),
    Source("lucide", "icon", "npm", "lucide-static", "1.62.0", "ISC",
           "Lucide icons, (c) Lucide Contributors (parts (c) Cole Bemis, Feather, MIT), ISC licence, https://lucide.dev",
           600, "lucide"),
    Source("bootstrap", "icon", "npm", "bootstrap-icons", "1.13.2", "MIT",
           "Bootstrap Icons, (c) The Bootstrap Authors, MIT licence, https://icons.getbootstrap.com",
           600, "bootstrap", short_share=0.85),
    Source("simple_icons", "icon", "npm", "simple-icons", "16.37.0", "CC0-1.0",
           "Simple Icons, CC0 1.0 (brand logos remain trademarks of their owners; see the package's DISCLAIMER.md), https://simpleicons.org",
           600, "simple_icons", short_share=0.85),
    Source("twemoji", "emoji", "npm", "@twemoji/svg", "15.0.0", "CC-BY-4.0",
           "Twemoji graphics (c) Twitter, Inc and other contributors, CC-BY 4.0, https://github.com/jdecked/twemoji",
           500, "twemoji"),
    Source("openmoji", "emoji", "npm", "openmoji", "17.0.0", "CC-BY-SA-4.0",
           "OpenMoji, the open-source emoji and icon project, CC BY-SA 4.0, https://openmoji.org",
           500, "openmoji"),
    Source("flags", "flag", "npm", "flag-icons", "7.5.0", "MIT",
           "flag-icons, (c) Panayiotis Lipiridis and contributors, MIT licence, https://github.com/lipis/flag-icons",
           300, "flags"),
    Source("openclipart", "illustration", "deb", "openclipart-svg", "1:0.18+dfsg-19",
           "LicenseRef-PublicDomain",
           "Open Clip Art Library 0.18 (Debian openclipart-svg), public-domain dedication, https://openclipart.org",
           800, "openclipart", max_per_dir=40),
    Source("tango", "icon", "deb", "tango-icon-theme", "0.8.90-11", "LicenseRef-PublicDomain",
           "Tango Desktop Project icon theme 0.8.90, released into the public domain, http://tango.freedesktop.org",
           200, "tango"),
    Source("glyph_dejavu", "glyph", "deb", "fonts-dejavu-core", "2.37-6", "Bitstream-Vera",
           "Glyph outlines from DejaVu fonts 2.37 (Bitstream Vera licence; DejaVu changes public domain), https://dejavu-fonts.github.io",
           300, "glyph_dejavu"),
    Source("glyph_liberation", "glyph", "deb", "fonts-liberation2", "2.1.5-1", "OFL-1.1",
           "Glyph outlines from Liberation fonts 2.1.5, (c) Google / Red Hat, SIL Open Font License 1.1, https://github.com/liberationfonts",
           300, "glyph_liberation"),
]


# ---------------------------------------------------------------- fetching
def _run(cmd: list[str], cwd: Path) -> str:
    log.info("$ %s", " ".join(cmd))
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def fetch(src: Source, cache: Path) -> tuple[Path, Path]:
    """Fetch one pinned package with its registry client; return (archive, unpacked dir)."""
    pkg_dir = cache / "pkg"
    pkg_dir.mkdir(parents=True, exist_ok=True)
    if src.registry == "npm":
        stem = src.package.lstrip("@").replace("/", "-") + f"-{src.version}.tgz"
        archive = pkg_dir / stem
        if not archive.exists():
            _run(["npm", "pack", f"{src.package}@{src.version}", "--silent"], pkg_dir)
    elif src.registry == "deb":
        matches = sorted(pkg_dir.glob(f"{src.package}_*.deb"))
        if not matches:
            _run(["apt-get", "download", f"{src.package}={src.version}"], pkg_dir)
            matches = sorted(pkg_dir.glob(f"{src.package}_*.deb"))
        archive = matches[0]
    else:
        raise ValueError(f"unknown registry {src.registry!r} for {src.name}")
    if not archive.exists():
        raise FileNotFoundError(f"{src.name}: expected {archive} after download")
    out = cache / "unpacked" / src.name
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if src.registry == "npm":
            _run(["tar", "xzf", str(archive), "-C", str(tmp)], cache)
            tmp = tmp / "package"
            tmp.rename(out)
            shutil.rmtree(out.with_suffix(".tmp"), ignore_errors=True)
        else:
            _run(["dpkg-deb", "-x", str(archive), str(tmp)], cache)
            tmp.rename(out)
    return archive, out


# ---------------------------------------------------------------- captions
def words(stem: str) -> str:
    """'arrow-left' / 'arrow_left' -> 'arrow left'."""
    return " ".join(stem.replace("-", " ").replace("_", " ").split())


_SKIN = {
    0x1F3FB: "light skin tone", 0x1F3FC: "medium-light skin tone", 0x1F3FD: "medium skin tone",
    0x1F3FE: "medium-dark skin tone", 0x1F3FF: "dark skin tone",
}


def emoji_caption(codepoints: list[int]) -> str | None:
    """Words for an emoji sequence from `unicodedata.name` (flags and keycaps spelled out)."""
    cps = [c for c in codepoints if c not in (0x200D, 0xFE0F, 0xFE0E)]
    if cps and all(0x1F1E6 <= c <= 0x1F1FF for c in cps):
        return "flag " + "".join(chr(ord("A") + c - 0x1F1E6) for c in cps)
    if cps and cps[-1] == 0x20E3:
        return "keycap " + "".join(chr(c) for c in cps[:-1])
    if cps and cps[0] == 0x1F3F4 and all(0xE0020 <= c <= 0xE007F for c in cps[1:]):
        tag = "".join(chr(c - 0xE0000) for c in cps[1:-1])
        return f"flag {tag}"
    names = []
    for c in cps:
        if c in _SKIN:
            names.append(_SKIN[c])
            continue
        name = unicodedata.name(chr(c), "")
        if not name:
            return None
        names.append(name.lower())
    return ", ".join(names) if names else None


def glyph_caption(char: str, family: str) -> str:
    name = unicodedata.name(char, f"U+{ord(char):04X}")
    parts = name.split()
    if len(parts) >= 4 and parts[0] == "LATIN" and parts[2] == "LETTER" and len(parts[3]) == 1:
        case = "capital " if parts[1] == "CAPITAL" else "small "
        rest = " ".join(parts[4:]).lower()
        return f"the {case}letter {char}{' ' + rest if rest else ''} in {family}"
    if name.startswith("DIGIT "):
        return f"the digit {char} in {family}"
    return f"the character {char} ({name.lower()}) in {family}"


# ---------------------------------------------------------------- collectors
def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file() and not p.is_symlink())


def _file_candidates(root: Path, pattern: str, caption: Callable[[Path], str | None]) -> list[Candidate]:
    return [
        Candidate(p.relative_to(root).as_posix(), lambda p=p: p.read_text("utf-8", "replace"), caption(p))
        for p in _files(root, pattern)
    ]


def collect_tabler(root: Path) -> list[Candidate]:
    out = _file_candidates(root, "icons/outline/*.svg", lambda p: words(p.stem))
    out += _file_candidates(root, "icons/filled/*.svg", lambda p: words(p.stem) + " filled")
    return out


def collect_lucide(root: Path) -> list[Candidate]:
    return _file_candidates(root, "icons/*.svg", lambda p: words(p.stem))


def collect_bootstrap(root: Path) -> list[Candidate]:
    return _file_candidates(root, "icons/*.svg", lambda p: words(p.stem))


def collect_simple_icons(root: Path) -> list[Candidate]:
    titles = {d["slug"]: d["title"] for d in json.loads((root / "data/simple-icons.json").read_text())
              if "slug" in d}
    return _file_candidates(
        root, "icons/*.svg", lambda p: f"{titles[p.stem]} logo" if p.stem in titles else None
    )


def collect_twemoji(root: Path) -> list[Candidate]:
    def cap(p: Path) -> str | None:
        try:
            return emoji_caption([int(h, 16) for h in p.stem.split("-")])
        except ValueError:
            return None
    return _file_candidates(root, "*.svg", cap)


def collect_openmoji(root: Path) -> list[Candidate]:
    annotations = {d["hexcode"]: d["annotation"] for d in
                   json.loads((root / "data/openmoji.json").read_text())}

    def cap(p: Path) -> str | None:
        if annotations.get(p.stem):
            return annotations[p.stem]
        try:
            return emoji_caption([int(h, 16) for h in p.stem.split("-")])
        except ValueError:
            return None
    return _file_candidates(root, "color/svg/*.svg", cap)


def collect_flags(root: Path) -> list[Candidate]:
    """The 4:3 flags only: the 1:1 files redraw the same flags (near-duplicates across splits)."""
    names = {d["code"]: d["name"] for d in json.loads((root / "country.json").read_text())}
    return _file_candidates(root, "flags/4x3/*.svg", lambda p: f"flag of {names.get(p.stem, p.stem.upper())}")


def collect_openclipart(root: Path) -> list[Candidate]:
    base = root / "usr/share/openclipart/svg"
    out = []
    for p in _files(base, "**/*.svg"):
        if p.stat().st_size > 200_000:  # metadata-heavy raw files; cleaned cap is max_chars
            continue
        rel = p.relative_to(root).as_posix()
        out.append(Candidate(rel, lambda p=p: p.read_text("utf-8", "replace"), None))
    return out


def collect_tango(root: Path) -> list[Candidate]:
    base = root / "usr/share/icons/Tango/scalable"
    return [
        Candidate(p.relative_to(root).as_posix(), lambda p=p: p.read_text("utf-8", "replace"),
                  f"{words(p.stem)} ({p.parent.name} icon)")
        for p in _files(base, "*/*.svg")
    ]


GLYPH_CHARS = (
    [chr(c) for c in range(0x21, 0x7F)]  # ASCII printable
    + [chr(c) for c in range(0xA1, 0x180) if c != 0xAD]  # Latin-1 supplement, Latin Extended-A
    + [chr(c) for c in range(0x391, 0x3CA) if c != 0x3A2]  # Greek
    + [chr(c) for c in range(0x410, 0x450)]  # Cyrillic
    + list("€™←↑→↓∞≈≠≤≥√∂∑∫★☺♠♣♥♦♪")
)


def glyph_svg(glyph_set, glyph_name: str, pad_ratio: float = 0.05) -> str | None:
    """One glyph outline as a filled SVG path, y axis flipped, viewBox = padded bounds."""
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.pens.svgPathPen import SVGPathPen
    from fontTools.pens.transformPen import TransformPen

    glyph = glyph_set[glyph_name]
    bounds_pen = BoundsPen(glyph_set)
    glyph.draw(bounds_pen)
    if bounds_pen.bounds is None:
        return None  # blank glyph (space)
    x0, y0, x1, y1 = bounds_pen.bounds
    path_pen = SVGPathPen(glyph_set, ntos=lambda v: f"{v:g}")
    glyph.draw(TransformPen(path_pen, (1, 0, 0, -1, 0, 0)))  # font y-up -> SVG y-down
    d = path_pen.getCommands()
    pad = pad_ratio * max(x1 - x0, y1 - y0)
    vx, vy, vw, vh = x0 - pad, -y1 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{vx:g} {vy:g} {vw:g} {vh:g}">'
            f'<path d="{d}" fill="#000"/></svg>')


def _glyph_candidates(root: Path, fonts: list[str]) -> list[Candidate]:
    from fontTools.ttLib import TTFont

    out = []
    for rel in fonts:
        font = TTFont(root / rel, lazy=True)
        family = font["name"].getBestFullName() or Path(rel).stem
        cmap = font.getBestCmap()
        glyph_set = font.getGlyphSet()
        for ch in GLYPH_CHARS:
            gname = cmap.get(ord(ch))
            if gname is None:
                continue
            svg = glyph_svg(glyph_set, gname)
            if svg is None:
                continue
            out.append(Candidate(f"{rel}#U+{ord(ch):04X}", lambda s=svg: s, glyph_caption(ch, family)))
    return out


def collect_glyph_dejavu(root: Path) -> list[Candidate]:
    d = "usr/share/fonts/truetype/dejavu/"
    return _glyph_candidates(root, [d + "DejaVuSans.ttf", d + "DejaVuSerif.ttf", d + "DejaVuSans-Bold.ttf"])


def collect_glyph_liberation(root: Path) -> list[Candidate]:
    d = "usr/share/fonts/truetype/liberation2/"
    return _glyph_candidates(root, [d + "LiberationSans-Regular.ttf", d + "LiberationSerif-Regular.ttf",
                                    d + "LiberationMono-Regular.ttf"])


COLLECTORS: dict[str, Callable[[Path], list[Candidate]]] = {
    name.removeprefix("collect_"): fn for name, fn in globals().items() if name.startswith("collect_")
}


# ---------------------------------------------------------------- render check
def _render_one(svg: str) -> str | None:
    """None when CairoSVG renders a non-empty 64 px image, else a short error string."""
    import cairosvg
    from PIL import Image

    try:
        png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=64, output_height=64)
    except Exception as exc:  # any renderer failure drops the file; the reason is logged
        return f"render_error: {type(exc).__name__}: {str(exc)[:80]}"
    img = Image.open(io.BytesIO(png)).convert("RGBA")
    if img.getextrema()[3][1] == 0:
        return "blank: fully transparent"
    return None


def render_check(svgs: list[str], workers: int, timeout_s: float) -> list[str | None]:
    """Render each SVG in a worker pool; a worker stuck past `timeout_s` is killed."""
    results: list[str | None] = [None] * len(svgs)
    pending = list(range(len(svgs)))
    ctx = mp.get_context("fork")
    while pending:
        pool = ctx.Pool(workers, maxtasksperchild=500)
        futures = {i: pool.apply_async(_render_one, (svgs[i],)) for i in pending}
        rest: list[int] = []
        for n, i in enumerate(pending):
            try:
                results[i] = futures[i].get(timeout=timeout_s)
            except mp.TimeoutError:
                results[i] = f"timeout: > {timeout_s}s"
                for j in pending[n + 1:]:
                    if futures[j].ready():
                        results[j] = futures[j].get()
                    else:
                        rest.append(j)
                break
        pool.terminate()
        pool.join()
        pending = rest
    return results


# ---------------------------------------------------------------- sampling
def build_source(src: Source, root: Path, seed: int, workers: int, timeout_s: float) -> tuple[list[dict], Counter]:
    """Clean all candidates, draw a seeded sample under the cap, keep those that render."""
    reasons: Counter = Counter()
    kept: list[tuple[Candidate, str, str | None]] = []
    for cand in COLLECTORS[src.collect](root):
        raw = cand.load()
        svg = clean_svg(raw)
        if svg is None:
            reasons["clean_failed"] += 1
            continue
        if len(svg) > src.max_chars:
            reasons["too_long"] += 1
            continue
        title = None if cand.caption else svg_title(raw)
        kept.append((cand, svg, words(title) if title else None))
    # A <title>/dc:title shared by several files names a collection ("Lemon SVG theme"),
    # not the picture: those fall back to the file name.
    title_counts = Counter(t for _, _, t in kept if t)
    cleaned: list[tuple[Candidate, str, str]] = []
    for cand, svg, title in kept:
        fallback = title if title and title_counts[title] < 3 else words(Path(cand.relpath).stem)
        cleaned.append((cand, svg, " ".join((cand.caption or fallback).split())))
    rng = random.Random(f"{seed}:{src.name}")
    short = [c for c in cleaned if len(c[1]) <= SHORT_CHARS]
    long = [c for c in cleaned if len(c[1]) > SHORT_CHARS]
    if src.short_share > 0:
        strata = [(short, round(src.cap * src.short_share)), (long, 0)]
        strata[1] = (long, src.cap - strata[0][1])
    else:
        strata = [(cleaned, src.cap)]
    chosen: list[tuple[Candidate, str, str]] = []
    for items, quota in strata:
        items = sorted(items, key=lambda c: c[0].relpath)
        rng.shuffle(items)
        if src.max_per_dir is not None:
            per_dir: Counter = Counter()
            capped = []
            for item in items:
                folder = str(Path(item[0].relpath).parent)
                per_dir[folder] += 1
                if per_dir[folder] <= src.max_per_dir:
                    capped.append(item)
            items = capped
        taken, cursor = [], 0
        while len(taken) < quota and cursor < len(items):
            batch = items[cursor: cursor + int((quota - len(taken)) * 1.1) + 5]
            cursor += len(batch)
            for item, err in zip(batch, render_check([b[1] for b in batch], workers, timeout_s), strict=True):
                if err is None and len(taken) < quota:
                    taken.append(item)
                elif err is not None:
                    reasons[err.split(":")[0]] += 1
        chosen += taken
    rows = [
        {
            "sample_id": f"{src.name}/{cand.relpath}",
            "source": src.name,
            "kind": src.kind,
            "license": src.license,
            "origin": f"{src.package}@{src.version}:{cand.relpath}",
            "caption": caption,
            "svg": svg,
        }
        for cand, svg, caption in chosen
    ]
    reasons["candidates"] = len(cleaned) + reasons["clean_failed"] + reasons["too_long"]
    return rows, reasons


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_sources_md(path: Path, stats: list[tuple[Source, str, Counter, int]], seed: int) -> None:
    lines = [
        "# Bundled corpus: sources and licences",
        "",
        f"Built by `scripts/build_corpus.py` (seed {seed}) from pinned registry packages only",
        "(`npm pack <pkg>@<version>`, `apt-get download <pkg>=<version>`). Rebuild with",
        "`.venv/bin/python scripts/build_corpus.py`; `counts.csv` has rows per source.",
        "",
        "Each row of `corpus.parquet` carries its own `license` (SPDX id) and `origin`",
        "(`package@version:path`). SVGs are cleaned by `rlrf.data.clean.clean_svg` (editor",
        "metadata, comments and namespaces removed, whitespace between tags collapsed) and",
        "otherwise unmodified; glyph rows are outlines converted from the fonts with fontTools.",
        "Notes: `@twemoji/svg` declares MIT for its code; the graphics are CC-BY 4.0, which is",
        "what rows carry. OpenMoji rows are CC BY-SA 4.0 (share-alike applies to derived",
        "graphics). Debian versions are those of bookworm at build time; if the archive moves",
        "on, pin the new version in `SOURCES` and rebuild.",
        "",
        "| source | kind | registry | package | version | licence | rows | candidates | archive sha256 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for src, digest, reasons, n in stats:
        lines.append(f"| {src.name} | {src.kind} | {src.registry} | `{src.package}` | `{src.version}` | "
                     f"{src.license} | {n} | {reasons['candidates']} | `{digest[:16]}…` |")
    lines += ["", "## Attribution", ""]
    for src, _, _, _ in stats:
        lines.append(f"- **{src.name}**: {src.attribution}")
    lines += ["", "## Dropped files per source", "",
              "| source | " + " | ".join(["clean_failed", "too_long", "render_error", "blank", "timeout"]) + " |",
              "|---|---|---|---|---|---|"]
    for src, _, reasons, _ in stats:
        lines.append(f"| {src.name} | " + " | ".join(str(reasons[k]) for k in
                     ["clean_failed", "too_long", "render_error", "blank", "timeout"]) + " |")
    lines += ["", "Full archive digests (sha256):", ""]
    for src, digest, _, _ in stats:
        lines.append(f"- `{src.package}@{src.version}`: `{digest}`")
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "data/corpus")
    ap.add_argument("--cache-dir", type=Path, default=None,
                    help="keep downloaded packages here and reuse them (default: a fresh temp dir)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per render check")
    ap.add_argument("--only", nargs="*", help="build only these sources (debugging)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    tmp = None
    if args.cache_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="rlrf-corpus-")
        cache = Path(tmp.name)
    else:
        cache = args.cache_dir
        cache.mkdir(parents=True, exist_ok=True)
    try:
        rows: list[dict] = []
        stats = []
        for src in SOURCES:
            if args.only and src.name not in args.only:
                continue
            archive, root = fetch(src, cache)
            src_rows, reasons = build_source(src, root, args.seed, args.workers, args.timeout)
            log.info("%s: %d rows from %d candidates, dropped %s", src.name, len(src_rows),
                     reasons["candidates"], dict(reasons))
            rows += src_rows
            stats.append((src, sha256(archive), reasons, len(src_rows)))
    finally:
        if tmp is not None:
            tmp.cleanup()

    rows.sort(key=lambda r: r["sample_id"])
    table = pa.Table.from_pylist(rows, schema=CORPUS_SCHEMA)
    args.out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, args.out / "corpus.parquet", compression="zstd", compression_level=19)
    write_sources_md(args.out / "SOURCES.md", stats, args.seed)
    counts = Counter((r["source"], r["kind"]) for r in rows)
    with (args.out / "counts.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "kind", "rows", "rows_le_700_chars"])
        for (s, k), n in sorted(counts.items()):
            w.writerow([s, k, n, sum(1 for r in rows if r["source"] == s and len(r["svg"]) <= SHORT_CHARS)])
    log.info("wrote %d rows to %s", len(rows), args.out / "corpus.parquet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
