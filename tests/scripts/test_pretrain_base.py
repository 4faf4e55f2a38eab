"""scripts/pretrain_base.py: Iconify sets become renderable SVGs, nothing in data/corpus/ leaks in."""

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from rlrf.svg import render

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pretrain():
    spec = importlib.util.spec_from_file_location("pretrain_base", REPO / "scripts" / "pretrain_base.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _icon_set(path: Path, icons: dict, **defaults) -> Path:
    path.write_text(json.dumps({"prefix": "t", "icons": icons, **defaults}))
    return path


def test_iconify_svgs_take_the_icons_box_and_skip_hidden(pretrain, tmp_path):
    path = _icon_set(tmp_path / "icons.json", {
        "b-square": {"body": '<path fill="currentColor" d="M0 0h10v10H0z"/>', "width": 20},
        "a-hidden": {"body": '<path d="M0 0h1v1H0z"/>', "hidden": True},
        "c-shifted": {"body": '<path d="M2 2h4v4H2z"/>', "left": 2, "top": 2, "height": 4, "width": 4},
    }, width=10, height=10)
    svgs = dict(pretrain.iconify_svgs(path))
    assert list(svgs) == ["b-square", "c-shifted"]  # sorted, hidden dropped
    assert 'viewBox="0 0 20 10"' in svgs["b-square"] and 'height="10"' in svgs["b-square"]
    assert 'viewBox="2 2 4 4"' in svgs["c-shifted"]
    img = render(svgs["b-square"], 40)
    assert isinstance(img, np.ndarray)
    # the 10x10 square fills the left half of the 20x10 box: ink on the left, white on the right
    ink = img.min(axis=2) < 128
    assert ink[15:25, 2:18].all() and not ink[15:25, 22:38].any()


def test_build_corpus_drops_svgs_already_in_the_bundled_corpus(pretrain, tmp_path, monkeypatch):
    bundled = pq.read_table(REPO / "data/corpus/corpus.parquet", columns=["svg"]).column("svg")[0].as_py()
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    icons = {"fresh": {"body": '<path d="M1 1h6v6H1z"/>'}}
    _icon_set(pkg / "icons.json", icons, width=8, height=8)
    monkeypatch.setattr(pretrain, "ICONIFY", pretrain.ICONIFY[:1])
    monkeypatch.setattr(pretrain, "fetch", lambda src, cache: (pkg / "icons.json", pkg))
    # make the one icon's cleaned SVG equal to a bundled one: the disjointness check must drop it
    monkeypatch.setattr(pretrain, "clean_svg", lambda raw: bundled if "M1 1" in raw else raw)
    manifest = pretrain.build_corpus(tmp_path, tmp_path / "corpus.parquet")
    assert manifest["rows"] == 0 and manifest["packages"][0]["in_bundled_corpus"] == 1
    monkeypatch.setattr(pretrain, "clean_svg", lambda raw: raw)
    manifest = pretrain.build_corpus(tmp_path, tmp_path / "corpus.parquet")
    rows = pq.read_table(tmp_path / "corpus.parquet").to_pylist()
    assert manifest["rows"] == 1 and rows[0]["sample_id"] == "iconify_mdi/fresh"
    assert manifest["packages"][0]["sha256"] == hashlib.sha256((pkg / "icons.json").read_bytes()).hexdigest()
