"""Integer-grid redraw (curate.grid): geometry on a G x G canvas, renders kept, losses dropped."""

import re

import pyarrow as pa

from rlrf.config import CurateConfig
from rlrf.data.curate import prepare
from rlrf.data.funnel import Funnel
from rlrf.data.grid import render_distance, to_grid
from rlrf.svg.render import render_unbounded as render

FLAG = ('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 640 480">'
        '<path fill="#fff" d="M0 0h640v480H0z"/><path fill="#000091" d="M0 0h213.3v480H0z"/>'
        '<path fill="#e1000f" d="M426.7 0H640v480H426.7z"/></svg>')
NESTED = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g transform="translate(12 12)" '
          'fill="#c00"><circle r="8"/><rect x="-2" y="-10" width="4" height="4" transform="rotate(10)"/></g>'
          '<path d="M2 22h20" stroke="#000" stroke-width="2" stroke-linecap="round" fill="none"/></svg>')
TEXT = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><text x="1" y="8">A</text></svg>'


def test_flag_lands_on_the_grid_with_integer_absolute_commands():
    out = to_grid(FLAG, 64)
    assert out.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">')
    ds = re.findall(r' d="([^"]*)"', out)
    assert len(ds) == 3
    for d in ds:
        assert re.fullmatch(r"([MLHVCQZ](-?\d+( -?\d+)*)?)+", d), d  # absolute, integers only
    assert 'd="M0 8H21V56H0Z" fill="#000091"' in out  # 4:3 flag centred: y from 8 to 56
    assert render_distance(render(FLAG, 64), render(out, 64)) < 0.01


def test_transforms_groups_and_strokes_are_resolved():
    out = to_grid(NESTED, 64)
    assert "transform" not in out and "<g" not in out and "<circle" not in out
    assert 'stroke="#000" stroke-width="5" stroke-linecap="round"' in out
    assert render_distance(render(NESTED, 64), render(out, 64)) < 0.03


def test_text_cannot_be_redrawn():
    assert to_grid(TEXT, 64) is None
    assert to_grid("<svg", 64) is None


def test_curation_redraws_and_counts_drops_in_the_funnel():
    table = pa.table({"sample_id": ["flag", "nested", "text"], "source": ["s"] * 3, "kind": ["icon"] * 3,
                      "svg": [FLAG, NESTED, TEXT], "caption": [None] * 3, "license": ["MIT"] * 3})
    funnel = Funnel()
    kept = prepare(table, CurateConfig(grid=64), funnel)
    assert kept["sample_id"].to_pylist() == ["flag", "nested"]
    assert all('viewBox="0 0 64 64"' in s for s in kept["svg"].to_pylist())
    f = funnel.table().to_pylist()
    assert {(r["sample_id"], r["reason"]) for r in f if r["filter"] == "grid"} == {
        ("flag", "pass"), ("nested", "pass"), ("text", "grid_unsupported")}
