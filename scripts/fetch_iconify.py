#!/usr/bin/env python
"""Fetch the `@iconify/json` npm package (~240 open icon sets, ~300K icons) and write it as
one Parquet file the `iconify` recipe curates (`data.source: local`): a real corpus of the
size where curation has to stream.

    .venv/bin/python scripts/fetch_iconify.py [--out artifacts/iconify] [--version 2.2.535]

`npm pack` (the registry's own client) downloads the pinned package into `--out`; nothing
is committed. Each icon becomes a standalone SVG (the set's width/height/left/top as its
viewBox, the icon's body inside); aliases (rotated / flipped copies) and hidden icons are
left out. Columns: sample_id (`<set>:<icon>`), source (the set's prefix), kind (emoji for
the sets Iconify files under Emoji, else icon), svg, caption (the icon's name in words and
the set's name), license (the set's SPDX id from its JSON, else its licence title).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

VERSION = "2.2.535"
SCHEMA = pa.schema([("sample_id", pa.string()), ("source", pa.string()), ("kind", pa.string()),
                    ("svg", pa.string()), ("caption", pa.string()), ("license", pa.string())])


def icon_svg(icon: dict, icon_set: dict) -> str:
    w = icon.get("width", icon_set.get("width", 16))
    h = icon.get("height", icon_set.get("height", 16))
    left, top = icon.get("left", icon_set.get("left", 0)), icon.get("top", icon_set.get("top", 0))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="{left} {top} {w} {h}">{icon["body"]}</svg>')


def set_rows(icon_set: dict) -> dict[str, list]:
    info = icon_set.get("info", {})
    lic = info.get("license", {})
    license_id = lic.get("spdx") or lic.get("title") or "unknown"
    kind = "emoji" if info.get("category") == "Emoji" else "icon"
    prefix = icon_set["prefix"]
    rows: dict[str, list] = {name: [] for name in SCHEMA.names}
    for name in sorted(icon_set.get("icons", {})):
        icon = icon_set["icons"][name]
        if icon.get("hidden"):
            continue
        rows["sample_id"].append(f"{prefix}:{name}")
        rows["source"].append(prefix)
        rows["kind"].append(kind)
        rows["svg"].append(icon_svg(icon, icon_set))
        rows["caption"].append(f"{name.replace('-', ' ')} ({info.get('name', prefix)})")
        rows["license"].append(license_id)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("artifacts/iconify"))
    ap.add_argument("--version", default=VERSION)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tgz = args.out / f"iconify-json-{args.version}.tgz"
    if not tgz.exists():
        subprocess.run(["npm", "pack", f"@iconify/json@{args.version}", "--silent"], cwd=args.out, check=True)
    path = args.out / "iconify.parquet"
    tmp = path.with_suffix(".tmp")
    n_sets = n_rows = 0
    licences: dict[str, int] = {}
    with tarfile.open(tgz) as tar, pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        members = sorted((m for m in tar.getmembers() if m.name.startswith("package/json/")
                          and m.name.endswith(".json")), key=lambda m: m.name)
        for m in members:
            rows = set_rows(json.load(tar.extractfile(m)))
            if not rows["sample_id"]:
                continue
            writer.write_table(pa.table(rows, schema=SCHEMA), row_group_size=20_000)
            n_sets += 1
            n_rows += len(rows["sample_id"])
            licences[rows["license"][0]] = licences.get(rows["license"][0], 0) + len(rows["sample_id"])
    tmp.replace(path)
    print(f"{path}: {n_rows:,} icons from {n_sets} sets of @iconify/json {args.version}")
    print("licences (icons):", ", ".join(f"{k} {v:,}" for k, v in sorted(licences.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
