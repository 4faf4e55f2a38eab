import pytest

from rlrf.config import RenderConfig
from rlrf.svg.sanitize import SvgRejected, sanitize, strip_text

LIMITS = RenderConfig()


def test_anchor_links_and_scripts_are_neutralised():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="https://example.com"><rect width="2" height="2"/></a>'
        "<script>alert(1)</script></svg>"
    )
    clean = sanitize(svg, LIMITS)
    assert "example.com" not in clean and "alert" not in clean and "<rect" in clean


def test_hex_colours_and_class_names_are_not_numbers():
    svg = '<svg><style>.c1e9 { fill: #9e9; }</style><rect class="c1e9" fill="#1e9999" width="2" height="2"/></svg>'
    assert "rect" in sanitize(svg, LIMITS)


def test_strip_text_removes_text_and_keeps_shapes():
    svg = (
        '<svg><rect width="2" height="2"/><text x="1" y="1">a red cat<tspan>!</tspan></text></svg>'
    )
    out = strip_text(svg)
    assert "text" not in out and "cat" not in out and "rect" in out


def test_strip_text_leaves_unparseable_input_alone():
    assert strip_text("<svg><text>") == "<svg><text>"


def test_reason_attribute():
    with pytest.raises(SvgRejected) as info:
        sanitize("x" * 300_000, LIMITS)
    assert info.value.reason == "too_long"
