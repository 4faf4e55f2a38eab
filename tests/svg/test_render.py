import numpy as np
import pytest

from rlrf.config import RenderConfig
from rlrf.svg.render import RenderFailure, is_blank
from rlrf.svg.render import render_unbounded as render

RED_CIRCLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<circle cx="50" cy="50" r="40" fill="#ff0000"/></svg>'
)


def test_renders_rgb_uint8_on_white():
    img = render(RED_CIRCLE, 64)
    assert isinstance(img, np.ndarray)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert tuple(img[32, 32]) == (255, 0, 0)
    assert tuple(img[1, 1]) == (255, 255, 255)


def test_semi_transparent_fill_is_composited_on_white():
    svg = '<svg viewBox="0 0 10 10"><rect width="10" height="10" fill="#000" fill-opacity="0.5"/></svg>'
    img = render(svg, 8)
    assert abs(int(img[4, 4, 0]) - 128) <= 2


@pytest.mark.parametrize("viewbox", ["0 0 1 1", "0 0 100 100", "0 0 5000 5000"])
def test_output_size_never_follows_the_svg(viewbox):
    svg = f'<svg viewBox="{viewbox}" width="3" height="3"><rect width="1" height="1"/></svg>'
    assert render(svg, 48).shape == (48, 48, 3)
    assert render(svg, (40, 24)).shape == (24, 40, 3)


def test_tiny_viewbox_zooms_into_a_corner_instead_of_shrinking():
    hacked = RED_CIRCLE.replace('viewBox="0 0 100 100"', 'viewBox="0 0 1 1"')
    img = render(hacked, 64)
    assert img.shape == (64, 64, 3)
    assert is_blank(img)  # the corner of the canvas is empty


def test_wide_svg_is_padded_to_square_with_white():
    svg = '<svg viewBox="0 0 200 100"><rect width="200" height="100" fill="#0000ff"/></svg>'
    img = render(svg, 64)
    assert img.shape == (64, 64, 3)
    assert tuple(img[2, 32]) == (255, 255, 255)  # top padding
    assert tuple(img[32, 32]) == (0, 0, 255)
    assert tuple(img[62, 32]) == (255, 255, 255)  # bottom padding
    unpadded = render(svg, 64, pad_square=False)
    assert unpadded.shape == (32, 64, 3) and (unpadded == (0, 0, 255)).all()


def test_size_less_svg_uses_pixel_units_and_no_namespace_is_fine():
    img = render('<svg><rect width="16" height="16" fill="#00ff00"/></svg>', 32)
    assert tuple(img[8, 8]) == (0, 255, 0) and tuple(img[24, 24]) == (255, 255, 255)


def test_local_use_and_gradient_render():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">'
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#000"/><stop offset="1" stop-color="#000"/>'
        '</linearGradient><rect id="r" width="5" height="10" fill="url(#g)"/></defs>'
        '<use xlink:href="#r"/><use href="#r" x="5"/></svg>'
    )
    img = render(svg, 20)
    assert (img < 10).all()


@pytest.mark.parametrize(
    "svg, reason",
    [
        ("", "rejected:empty"),
        ("   ", "rejected:empty"),
        ("<svg><rect", "rejected:parse_error"),
        ("<html/>", "rejected:not_svg"),
        ('<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>', "rejected:doctype"),
        ('<svg><circle cx="NaN" cy="1" r="1"/></svg>', "rejected:bad_number"),
        ('<svg><path d="M0 0 L inf 3"/></svg>', "rejected:bad_number"),
        ('<svg><circle cx="1e308" cy="1" r="1"/></svg>', "rejected:oversize"),
        ("<svg>" + "<g>" * 200 + "</g>" * 200 + "</svg>", "rejected:too_deep"),
        ("<svg>" + "<g/>" * 11_000 + "</svg>", "rejected:too_many_elements"),
        (
            '<svg><image href="data:image/png;base64,iVBORw0KGgo=" width="9" height="9"/></svg>',
            "rejected:data_image",
        ),
        ('<svg><image href="x.png"/></svg>', "rejected:external_ref"),
        ("<svg><style>@import url(http://x/y.css);</style></svg>", "rejected:external_ref"),
        ('<svg><rect fill="url(file:///etc/passwd)"/></svg>', "rejected:external_ref"),
        ('<?xml-stylesheet href="a.css"?><svg/>', "rejected:external_ref"),
    ],
)
def test_rejections_are_values(svg, reason):
    result = render(svg, 32)
    assert isinstance(result, RenderFailure)
    assert result.reason == reason


def test_use_fan_out_bomb_is_rejected():
    levels = ['<g id="l0"><circle r="1"/></g>']
    for i in range(1, 10):
        levels.append(f'<g id="l{i}">' + f'<use href="#l{i - 1}"/>' * 10 + "</g>")
    bomb = '<svg viewBox="0 0 10 10"><defs>' + "".join(levels) + '</defs><use href="#l9"/></svg>'
    assert render(bomb, 32) == RenderFailure("rejected:too_many_use", render(bomb, 32).detail)


def test_use_cycle_is_rejected():
    svg = '<svg><g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g></svg>'
    assert render(svg, 32).reason == "rejected:too_many_use"


def test_data_images_allowed_only_by_flag():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
    svg = f'<svg viewBox="0 0 4 4"><image href="data:image/png;base64,{png}" width="4" height="4"/></svg>'
    assert render(svg, 8).reason == "rejected:data_image"
    img = render(svg, 8, RenderConfig(allow_data_images=True))
    assert isinstance(img, np.ndarray)


def test_is_blank_is_the_reward_servers_rule():
    """mean ≥ 254 or max − min < 5 (rlrf-rewarder svg_compute_score), not a share of white."""
    white = np.full((100, 100, 3), 255, np.uint8)
    assert is_blank(white)
    assert is_blank(np.full((100, 100, 3), 30, np.uint8))  # flat colour: range 0
    faint = white.copy()
    faint[:50] = 252  # visible to nobody: range 3
    assert is_blank(faint)
    sparse = white.copy()
    sparse[50, :] = 0  # a one-pixel line: 1 % ink, mean 252.45
    assert not is_blank(sparse)
    speck = white.copy()
    speck[0, 0] = 0  # a single dark pixel: mean ≥ 254
    assert is_blank(speck)
