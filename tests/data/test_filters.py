import numpy as np
import pyarrow as pa
import pytest

from rlrf.config import CurateConfig
from rlrf.data.filters import drop_base64_image, drop_empty, drop_external_image, drop_long_url
from rlrf.data.normalize import round_decimals, round_number_text, strip_xml_header

OK = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'


def col(*svgs):
    return pa.chunked_array([pa.array(list(svgs), pa.string())])


def test_long_url_dropped_namespace_kept():
    long = OK.replace("<rect", f'<a href="https://example.com/{"x" * 150}"><rect').replace("</svg>", "</a></svg>")
    assert drop_long_url(col(OK, long), 100).to_pylist() == [False, True]


def test_base64_payload_over_limit_dropped():
    small = OK.replace("<rect", '<image href="data:image/png;base64,iVBORw0KGgo="/><rect')
    big = OK.replace("<rect", f'<image href="data:image/png;base64,{"A" * 2500}"/><rect')
    assert drop_base64_image(col(OK, small, big), 2048).to_pylist() == [False, False, True]


def test_external_image_and_empty():
    ext = OK.replace("<rect", '<image xlink:href="http://host/a.png"/><rect')
    assert drop_external_image(col(OK, ext)).to_pylist() == [False, True]
    assert drop_empty(col(OK, "", None, "<html></html>")).to_pylist() == [False, True, True, True]


def test_normalisation_rounds_and_strips_header():
    svg = '<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by X -->\n<svg>  <path d="M1.23456 7.5"/></svg>'
    out = round_decimals(strip_xml_header(col(svg)), 2).to_pylist()[0]
    assert out == '<svg><path d="M1.23 7.5"/></svg>'
    # the sign stays: "M5-0.004" must not become "M50"
    assert round_number_text("M1.23556 -0.004", 2) == "M1.24 -0.0"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.9999", "2.0"),  # rounded, not truncated to 1.99
        ("12.345", "12.35"),  # half away from zero, exact decimal (float would say 12.34)
        ("1.004999", "1.0"),
        ("-.995", "-1.0"),
        ("M5-0.004", "M5-0.0"),  # numbers never run into each other
        ("M1.9999.5555", "M2.0.56"),
        ("L.12345 2.675e-5", "L.12 2.675e-5"),  # leading dot kept, exponents untouched
        ("x=\"10.3\"", "x=\"10.3\""),
    ],
)
def test_rounding_is_rounding(text, expected):
    assert round_decimals(col(text), 2).to_pylist() == [expected]
    assert round_number_text(text, 2) == expected


def test_vectorised_rounding_matches_the_per_row_rule():
    rng = np.random.default_rng(0)
    texts = [
        " ".join(f"{v:.{int(rng.integers(0, 7))}f}" for v in rng.normal(0, 50, 20)).replace(" -", "-")
        for _ in range(200)
    ]
    for decimals in (1, 2, 3):
        assert round_decimals(col(*texts), decimals).to_pylist() == [
            round_number_text(t, decimals) for t in texts
        ]
    chunked = pa.chunked_array([texts[:3] + [None], ["no numbers", ""], texts[3:5]])
    assert round_decimals(chunked, 2).to_pylist() == [
        None if t is None else round_number_text(t, 2) for t in chunked.to_pylist()
    ]


def test_cheap_filters_follow_recipe_thresholds():
    from rlrf.data.filters import cheap_filters

    names = [n for n, _, _ in cheap_filters(CurateConfig(drop_external_images=False))]
    assert "external_image" not in names and names[0] == "empty" and "no_caption" not in names
    names = [n for n, _, _ in cheap_filters(CurateConfig(require_caption=True))]
    assert names[-1] == "no_caption"


def test_text2svg_rows_need_a_caption():
    from rlrf.data.filters import drop_no_caption

    assert drop_no_caption(col("a red heart", None, "  ", "ok")).to_pylist() == [False, True, True, True]
