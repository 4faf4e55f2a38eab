"""Cleaning hand-made hostile and editor-exported SVGs (rlrf.data.clean)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import cairosvg
import numpy as np
import pytest
from PIL import Image

from rlrf.data.clean import (
    SVG_NS,
    SVGCleanError,
    UnsafeSVGError,
    clean_svg,
    clean_svg_strict,
    svg_title,
)

INKSCAPE_SVG = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- Created with Inkscape (http://www.inkscape.org/) -->
<?xml-stylesheet type="text/css" href="http://example.com/x.css"?>
<svg xmlns="http://www.w3.org/2000/svg"
     xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
     xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:cc="http://creativecommons.org/ns#"
     xmlns:i="http://ns.adobe.com/AdobeIllustrator/10.0/"
     width="48" height="48" inkscape:version="0.46" sodipodi:docname="star.svg"
     i:viewOrigin="0 0" onload="alert(1)">
  <sodipodi:namedview id="base" pagecolor="#ffffff" inkscape:zoom="8"/>
  <metadata>
    <rdf:RDF><cc:Work rdf:about=""><dc:title>Red star</dc:title></cc:Work></rdf:RDF>
  </metadata>
  <title>Star</title>
  <script>alert(2)</script>
  <defs>
    <linearGradient id="base-grad"><stop offset="0" stop-color="#c00"/>
      <stop offset="1" stop-color="#f60"/></linearGradient>
    <linearGradient id="grad" xlink:href="#base-grad" x1="0" y1="0" x2="48" y2="48"
                    gradientUnits="userSpaceOnUse"/>
    <path id="tri" d="M4 44 L24 4 L44 44 Z"/>
  </defs>
  <!-- a comment -->
  <g inkscape:groupmode="layer" inkscape:label="Layer 1" onclick="steal()">
    <use xlink:href="#tri" fill="url(#grad)" sodipodi:nodetypes="ccc"/>
    <use xlink:href="http://evil.example/sprite.svg#tri"/>
    <image xlink:href="file:///etc/passwd" width="10" height="10"/>
    <rect x="2" y="2" width="4" height="4" style="fill:url(http://evil.example/p#x);stroke:#00f"/>
  </g>
  <i:pgf id="adobe_pgf">junk</i:pgf>
</svg>
"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE svg [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><text>&lol3;</text></svg>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><text>&xxe;</text></svg>
"""


def render(svg: str, size: int = 48) -> np.ndarray:
    png = cairosvg.svg2png(bytestring=svg.encode(), output_width=size, output_height=size)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def all_attribute_names(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {k for el in root.iter() for k in el.attrib}


def test_editor_namespaces_metadata_and_comments_removed():
    out = clean_svg(INKSCAPE_SVG)
    assert out is not None
    for needle in ("sodipodi", "inkscape", "metadata", "rdf", "dc:", "<!--", "<?", "DOCTYPE",
                   "Created with", "i:pgf", "viewOrigin", "script", "alert", "onload", "onclick",
                   "<title>", "ns0:"):
        assert needle not in out, needle
    assert out.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    root = ET.fromstring(out)
    assert all(el.tag.startswith(f"{{{SVG_NS}}}") for el in root.iter())
    assert "\n" not in out and "> <" not in out  # whitespace between tags collapsed


def test_external_references_removed_internal_kept():
    out = clean_svg(INKSCAPE_SVG)
    assert "evil.example" not in out and "file://" not in out and "<image" not in out
    assert out.count("<use") == 1  # the external <use> is gone, the internal one stays
    names = all_attribute_names(out)
    assert "{http://www.w3.org/1999/xlink}href" in names
    assert 'xlink:href="#tri"' in out and 'xlink:href="#base-grad"' in out
    assert 'style="stroke:#00f"' in out  # only the external url() declaration dropped


def test_internal_xlink_reference_renders_same_as_original():
    # The original (minus the parts a sandboxed renderer ignores anyway) and the cleaned
    # file must give the same pixels: the gradient-through-<use> chain still resolves.
    original = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
      xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="48" height="48">
      <defs><linearGradient id="a"><stop offset="0" stop-color="#c00"/>
      <stop offset="1" stop-color="#06f"/></linearGradient>
      <linearGradient id="b" xlink:href="#a" x1="0" x2="48" gradientUnits="userSpaceOnUse"/>
      <path id="tri" d="M4 44 L24 4 L44 44 Z"/></defs>
      <!-- c --><use xlink:href="#tri" fill="url(#b)" inkscape:label="x"/></svg>"""
    cleaned = clean_svg(original)
    assert cleaned is not None and "<use" in cleaned
    before, after = render(original), render(cleaned)
    assert before[..., 3].max() > 0  # the reference resolves to visible pixels
    np.testing.assert_array_equal(before, after)
    assert len({tuple(px) for px in after[after[..., 3] == 255][:, :3]}) > 5  # a real gradient


def test_cleaned_output_reparses_and_renders():
    out = clean_svg(INKSCAPE_SVG)
    ET.fromstring(out)
    img = render(out)
    assert img[..., 3].max() == 255


def test_billion_laughs_refused():
    with pytest.raises(UnsafeSVGError):
        clean_svg_strict(BILLION_LAUGHS)
    assert clean_svg(BILLION_LAUGHS) is None


def test_external_entity_refused():
    with pytest.raises(UnsafeSVGError):
        clean_svg_strict(EXTERNAL_ENTITY)
    assert clean_svg(EXTERNAL_ENTITY) is None


def test_viewbox_derived_from_width_height():
    out = clean_svg('<svg xmlns="http://www.w3.org/2000/svg" width="24px" height="1in">'
                    '<rect width="5" height="5"/></svg>')
    assert ET.fromstring(out).get("viewBox") == "0 0 24 96"


def test_svg_without_namespace_gets_default_namespace():
    out = clean_svg('<svg viewBox="0 0 4 4"><rect width="2" height="2"/></svg>')
    assert out == '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="2" height="2"/></svg>'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "parse_error"),
        ("<svg", "parse_error"),
        ("not xml at all", "parse_error"),
        ('<html xmlns="http://www.w3.org/1999/xhtml"/>', "not_svg"),
        ('<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="100%"><rect/></svg>', "no_viewbox"),
        ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 0 10"><rect/></svg>', "bad_viewbox"),
        ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><metadata/></svg>', "empty"),
    ],
)
def test_unusable_input_gives_typed_reason(text, reason):
    with pytest.raises(SVGCleanError) as info:
        clean_svg_strict(text)
    assert info.value.reason == reason
    assert clean_svg(text) is None


@pytest.mark.parametrize("junk", [None, 42, b"<svg/>", "\x00\x01", "<svg>" * 10000, "\ud800"])
def test_clean_svg_never_raises(junk):
    assert clean_svg(junk) is None


def test_deep_nesting_refused_with_typed_reason():
    deep = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">' + "<g>" * 5000 + \
        '<rect width="1" height="1"/>' + "</g>" * 5000 + "</svg>"
    with pytest.raises(SVGCleanError) as info:
        clean_svg_strict(deep)
    assert info.value.reason == "too_deep"
    assert clean_svg(deep) is None


def test_class_kept_only_when_css_uses_it():
    styled = clean_svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4">'
                       '<style>.a{fill:red}</style><rect class="a" width="2" height="2"/></svg>')
    assert 'class="a"' in styled
    plain = clean_svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4" role="img">'
                      '<rect class="a" aria-label="x" width="2" height="2"/></svg>')
    assert "class" not in plain and "role" not in plain and "aria" not in plain


def test_style_with_import_dropped():
    out = clean_svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4">'
                    '<style>@import url(http://evil/x.css);</style><rect width="2" height="2"/></svg>')
    assert "<style" not in out and "evil" not in out


def test_svg_title_prefers_svg_title_then_dublin_core():
    assert svg_title(INKSCAPE_SVG) == "Star"
    no_svg_title = INKSCAPE_SVG.replace("<title>Star</title>", "")
    assert svg_title(no_svg_title) == "Red star"
    assert svg_title("<svg") is None
