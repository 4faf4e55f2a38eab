import numpy as np

from rlrf.svg.extract import extract_svg, is_well_formed
from rlrf.svg.render import render_unbounded as render

CIRCLE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>'


def test_fenced_with_prose():
    text = f"Sure! Here is the icon:\n```svg\n{CIRCLE}\n```\nHope it helps </svg> <svg>"
    assert extract_svg(text) == CIRCLE


def test_no_svg_is_none():
    assert extract_svg("I cannot draw that.") is None
    assert extract_svg("") is None
    assert extract_svg(None) is None


def test_nested_svg_keeps_outer_close():
    doc = '<svg viewBox="0 0 10 10"><svg x="1"><rect width="2" height="2"/></svg><circle r="1"/></svg>'
    assert extract_svg("x " + doc + " tail") == doc


def test_truncated_at_length_limit_is_closed_and_renders():
    cut = '<svg viewBox="0 0 10 10"><g fill="red"><rect width="10" height="10"/><circle cx="5" cy="5" r="'
    svg = extract_svg(cut)
    assert svg == '<svg viewBox="0 0 10 10"><g fill="red"><rect width="10" height="10"/></g></svg>'
    img = render(svg, 16)
    assert isinstance(img, np.ndarray) and tuple(img[8, 8]) == (255, 0, 0)


def test_truncated_inside_comment():
    svg = extract_svg('<svg viewBox="0 0 4 4"><rect width="4" height="4"/><!-- a comm')
    assert svg == '<svg viewBox="0 0 4 4"><rect width="4" height="4"/></svg>'


def test_rewards_do_not_close_a_truncated_svg():
    cut = '<svg viewBox="0 0 10 10"><rect width="10" height="10"/><circle r="'
    assert extract_svg(cut, close_truncated=False) is None
    assert extract_svg(CIRCLE + " trailing", close_truncated=False) == CIRCLE


def test_is_well_formed():
    assert is_well_formed(CIRCLE)
    assert not is_well_formed(CIRCLE.replace("<circle", "<circle <"))
    assert not is_well_formed('<!DOCTYPE svg [<!ENTITY a "x">]>' + CIRCLE)
