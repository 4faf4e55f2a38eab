"""Check untrusted SVG text before CairoSVG sees it.

Model roll-outs are hostile input (RLRF, arXiv 2505.20793, Sec. 3: the policy optimises
whatever the renderer rewards). CairoSVG happily fetches URLs, reads files, expands
`<use>` trees exponentially and recurses once per nesting level, so everything that can
make it touch the outside world or run unbounded is rejected here, with a short reason
that ends up in the `rollouts` / `predictions` tables:

- `empty`, `too_long`, `parse_error`, `not_svg`
- `doctype` (DOCTYPE / ENTITY declarations: no entity expansion, no XXE)
- `external_ref` (http(s):, file:, paths in href / xlink:href / src / xml:base,
  CSS `@import`, `url(...)` other than `url(#id)`, `<?xml-stylesheet?>`)
- `data_image` (`<image href="data:...">` raster stand-ins, unless allowed)
- `too_many_elements`, `too_deep`, `too_many_use` (fan-out after expanding `<use>`)
- `bad_number` (NaN / inf), `oversize` (a number beyond `max_dimension`)

What cannot be judged statically (a plausible path that makes Cairo loop) is bounded
from outside by `rlrf.svg.pool.RenderPool`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from rlrf.config import RenderConfig

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

_DOCTYPE = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_STYLESHEET_PI = re.compile(r"<\?xml-stylesheet", re.IGNORECASE)
_URL_FN = re.compile(r"url\s*\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_IMPORT = re.compile(r"@import", re.IGNORECASE)
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}\b")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_NAN_INF = re.compile(r"(?<![a-zA-Z])(nan|inf(inity)?)(?![a-zA-Z])", re.IGNORECASE)
_DATA_IMAGE = re.compile(r"data:image/(png|jpe?g|gif|webp);", re.IGNORECASE)

# Attributes whose values are names or free text, not geometry.
_NON_NUMERIC = {
    "id", "class", "href", "src", "font-family", "lang", "space", "name", "title",
    "preserveAspectRatio", "version", "baseProfile", "style",
}  # fmt: skip
_TEXT_TAGS = {"text", "tspan", "textPath", "tref"}


class SvgRejected(ValueError):
    """An SVG that must not be rendered; `reason` is one short machine-readable word."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _parse(svg: str, limits: RenderConfig) -> ET.Element:
    """Parse with expat, counting elements and depth as they stream in (no recursion)."""
    parser = ET.XMLPullParser(events=("start", "end"))
    depth = n_elements = 0
    root = None
    try:
        for start in range(0, len(svg), 65536):
            parser.feed(svg[start : start + 65536])
            for event, elem in parser.read_events():
                if event == "end":
                    depth -= 1
                    continue
                root = elem if root is None else root
                depth += 1
                n_elements += 1
                if depth > limits.max_depth:
                    raise SvgRejected("too_deep", f"nesting deeper than {limits.max_depth}")
                if n_elements > limits.max_elements:
                    raise SvgRejected(
                        "too_many_elements", f"more than {limits.max_elements} elements"
                    )
        parser.close()
    except ET.ParseError as exc:
        raise SvgRejected("parse_error", str(exc)) from None
    if root is None:
        raise SvgRejected("parse_error", "no element")
    return root


def _check_urls(value: str, where: str) -> None:
    if _IMPORT.search(value):
        raise SvgRejected("external_ref", f"@import in {where}")
    for match in _URL_FN.finditer(value):
        if not match.group(2).strip().startswith("#"):
            raise SvgRejected("external_ref", f"url({match.group(2)[:60]}) in {where}")


def _check_numbers(value: str, where: str, limits: RenderConfig) -> None:
    text = _HEX_COLOR.sub(" ", _URL_FN.sub(" ", value))
    if _NAN_INF.search(text):
        raise SvgRejected("bad_number", f"NaN/inf in {where}")
    for token in _NUMBER.findall(text):
        number = float(token)
        if number != number or abs(number) == float("inf"):
            raise SvgRejected("bad_number", f"{token[:30]} in {where}")
        if abs(number) > limits.max_dimension:
            raise SvgRejected(
                "oversize", f"{token[:30]} in {where} exceeds {limits.max_dimension:g}"
            )


def _check_href(elem: ET.Element, attr: str, value: str, limits: RenderConfig) -> None:
    """Only same-document references (`#id`) may stay; `<a>` links are dropped."""
    tag = _local(elem.tag)
    target = value.strip()
    if target.startswith("#"):
        return
    if tag == "a":
        del elem.attrib[attr]
        return
    if tag == "image" and target.lower().startswith("data:"):
        if limits.allow_data_images and _DATA_IMAGE.match(target):
            return
        raise SvgRejected("data_image", "embedded raster image")
    raise SvgRejected("external_ref", f"{tag} {_local(attr)}={target[:60]!r}")


def _use_fanout(root: ET.Element, limits: RenderConfig) -> None:
    """Reject when expanding `<use>` (transitively) would draw too many elements."""
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    uses = [e for e in root.iter() if _local(e.tag) == "use"]
    if len(uses) > limits.max_use:
        raise SvgRejected("too_many_use", f"{len(uses)} <use> elements > {limits.max_use}")
    if not uses:
        return
    # Expanded size of each subtree, computed bottom-up with an explicit stack.
    cost: dict[int, int] = {}
    state: dict[int, int] = {}  # 1 = in progress, 2 = done
    stack = [(root, False)]
    while stack:
        elem, expanded = stack.pop()
        key = id(elem)
        if state.get(key) == 2:
            continue
        deps = list(elem)
        if _local(elem.tag) == "use":
            ref = elem.get("href") or elem.get(f"{{{XLINK_NS}}}href") or ""
            target = by_id.get(ref.strip().lstrip("#"))
            if target is not None:
                deps.append(target)
        if not expanded:
            if state.get(key) == 1:
                raise SvgRejected("too_many_use", "<use> reference cycle")
            state[key] = 1
            stack.append((elem, True))
            for dep in deps:
                if state.get(id(dep)) == 1:
                    raise SvgRejected("too_many_use", "<use> reference cycle")
                if state.get(id(dep)) != 2:
                    stack.append((dep, False))
            continue
        total = 1 + sum(cost[id(d)] for d in deps)
        if total > limits.max_elements:
            raise SvgRejected(
                "too_many_use", f"<use> expansion exceeds {limits.max_elements} elements"
            )
        cost[key] = total
        state[key] = 2


def _check_tree(root: ET.Element, limits: RenderConfig) -> None:
    if _local(root.tag) != "svg":
        raise SvgRejected("not_svg", f"root element is <{_local(root.tag)}>")
    for elem in root.iter():
        tag = _local(elem.tag)
        if tag == "style" and elem.text:
            _check_urls(elem.text, "<style>")
            _check_numbers(_strip_css_selectors(elem.text), "<style>", limits)
        if tag == "script" or tag == "foreignObject":
            elem.clear()
            elem.tag = f"{{{SVG_NS}}}g"
            continue
        for attr, value in list(elem.attrib.items()):
            name = _local(attr)
            if name == "base":  # xml:base re-roots relative URLs
                del elem.attrib[attr]
                continue
            if name in ("href", "src"):
                _check_href(elem, attr, value, limits)
                continue
            _check_urls(value, f"{tag} {name}")
            if name == "style":
                _check_numbers(_strip_css_selectors(value), f"{tag} style", limits)
            elif name not in _NON_NUMERIC and not name.startswith("on"):
                _check_numbers(value, f"{tag} {name}", limits)
    _use_fanout(root, limits)


def _strip_css_selectors(css: str) -> str:
    """Keep only declaration values: selectors like `.cls-1e9` are names, not numbers."""
    values = re.findall(r":([^;{}]*)", css)
    return " ".join(v for v in values if "font-family" not in v)


def _prepare(svg: str, limits: RenderConfig) -> ET.Element:
    if not isinstance(svg, str) or not svg.strip():
        raise SvgRejected("empty", "no SVG text")
    if len(svg) > limits.max_input_chars:
        raise SvgRejected("too_long", f"{len(svg)} chars > {limits.max_input_chars}")
    if _DOCTYPE.search(svg):
        raise SvgRejected("doctype", "DOCTYPE/ENTITY declarations are not rendered")
    if _STYLESHEET_PI.search(svg):
        raise SvgRejected("external_ref", "xml-stylesheet processing instruction")
    return _parse(svg, limits)


def sanitize(svg: str, limits: RenderConfig) -> str:
    """Return SVG text that is safe to hand to CairoSVG, or raise `SvgRejected(reason)`.

    The result is re-serialised from the checked tree, so neutralised parts (`<a href>`,
    `<script>`, `xml:base`) are gone and the text CairoSVG parses is exactly what was checked.
    """
    root = _prepare(svg, limits)
    _check_tree(root, limits)
    if not root.tag.startswith("{"):
        _add_namespace(root)
    return ET.tostring(root, encoding="unicode")


def _add_namespace(root: ET.Element) -> None:
    """Model outputs often omit xmlns; give un-namespaced elements the SVG namespace."""
    for elem in root.iter():
        if isinstance(elem.tag, str) and not elem.tag.startswith("{"):
            elem.tag = f"{{{SVG_NS}}}{elem.tag}"


def strip_text(svg: str, limits: RenderConfig | None = None) -> str:
    """Remove `<text>` (and its spans) so restating the caption earns no image reward.

    Text2SVG policies learn to write the prompt as `<text>`, which CLIP / VLM judges read
    (RLRF Sec. 4, reward hacking). Input that does not parse is returned unchanged; the
    renderer rejects it later with its own reason.
    """
    try:
        root = _prepare(svg, limits or RenderConfig())
    except SvgRejected:
        return svg
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and _local(child.tag) in _TEXT_TAGS:
                parent.remove(child)
    return ET.tostring(root, encoding="unicode")
