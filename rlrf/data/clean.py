"""Cleaning of third-party SVG files into plain, self-contained SVG text.

The paper trains on SVG-Stack after stripping editor noise (App. A, "data curation"):
files exported by Inkscape, Illustrator or Sodipodi carry metadata, editor-namespaced
elements and attributes that cost tokens and never change the picture. This module
removes them with a real XML pass (defusedxml + ElementTree, never regexes on markup)
and returns SVG in the default namespace with a viewBox, ready for rendering and
tokenising.

Input is treated as hostile: entity declarations (billion laughs) and external entities
are refused, scripts and event handlers are dropped, and references may only point
inside the document (`#id`) or at inline `data:` images. `clean_svg` never raises; a
file that cannot be made usable becomes `None`. `clean_svg_strict` raises a typed
`SVGCleanError` naming the reason, for callers that record why a file was dropped.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

logger = logging.getLogger(__name__)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# SVG elements that never contribute pixels or that can carry active content.
_DROPPED_ELEMENTS = frozenset({"metadata", "script", "foreignObject", "handler", "listener"})
_TEXT_BEARING = frozenset({"desc", "title", "text", "tspan", "textPath", "style", "tref"})
# Elements whose only job is to pull in another resource: without a usable reference
# they are dropped, instead of keeping a dangling element.
_REFERENCE_ELEMENTS = frozenset({"use", "image", "feImage", "tref"})
_HREF_KEYS = (f"{{{XLINK_NS}}}href", "href")
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import", re.IGNORECASE)
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in)?\s*$")
_UNIT_TO_PX = {None: 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
_WS = re.compile(r"\s+")

DEFAULT_MAX_INPUT_CHARS = 5_000_000
DEFAULT_MAX_ELEMENTS = 50_000
DEFAULT_MAX_DEPTH = 200  # the tree walk and ElementTree's writer recurse per level


class SVGCleanError(ValueError):
    """An SVG file could not be cleaned into something usable; `reason` is a short code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class UnsafeSVGError(SVGCleanError):
    """The input declares entities or external resources the parser refuses to expand."""


def _split(tag: str) -> tuple[str | None, str]:
    """'{ns}local' -> (ns, local); 'local' -> (None, local)."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def _parse(text: str, max_input_chars: int) -> ET.Element:
    if not isinstance(text, str):
        raise SVGCleanError("not_text", type(text).__name__)
    if len(text) > max_input_chars:
        raise SVGCleanError("too_long", f"{len(text)} > {max_input_chars} characters")
    # ElementTree refuses str input that carries an encoding declaration only for bytes;
    # encoding the text ourselves keeps one code path for both.
    try:
        return SafeET.fromstring(
            text.encode("utf-8"), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise UnsafeSVGError("unsafe_xml", type(exc).__name__) from exc
    except (ET.ParseError, ExpatError, ValueError) as exc:
        raise SVGCleanError("parse_error", str(exc)[:200]) from exc


def _is_internal_ref(value: str) -> bool:
    return value.strip().startswith("#") and len(value.strip()) > 1


def _is_inline_image(value: str) -> bool:
    return value.strip().lower().startswith("data:image/")


def _clean_css(value: str) -> str | None:
    """Drop declarations of a style attribute that reach outside the document."""
    kept = [d for d in value.split(";") if d.strip() and not _EXTERNAL_URL.search(d)]
    return ";".join(d.strip() for d in kept) or None


def _clean_attributes(el: ET.Element, local: str, has_css: bool) -> None:
    for key in list(el.attrib):
        ns, name = _split(key)
        value = el.attrib[key]
        keep = True
        if key in _HREF_KEYS:
            keep = _is_internal_ref(value) or (
                local in {"image", "feImage"} and _is_inline_image(value)
            )
        elif ns == XML_NS:
            keep = name in {"space", "lang"}
        elif ns is not None:
            keep = False  # sodipodi:, inkscape:, i:, x:, graph:, rdf: ...
        elif name.lower().startswith("on"):
            keep = False  # onload, onclick ... event handlers
        elif value.strip().lower().startswith(("javascript:", "vbscript:")):
            keep = False  # <animate to="javascript:..."> and friends
        elif name == "role" or name.startswith("aria-") or (name == "class" and not has_css):
            keep = False  # accessibility hints and unstyled classes never change pixels
        elif name == "style":
            cleaned = _clean_css(value)
            if cleaned is None:
                keep = False
            else:
                el.attrib[key] = cleaned
        elif _EXTERNAL_URL.search(value):
            keep = False
        if not keep:
            del el.attrib[key]
    # Keep a single href spelling: xlink:href wins, it is what SVG 1.1 renderers read.
    if all(k in el.attrib for k in _HREF_KEYS):
        del el.attrib["href"]


def _collapse_text(value: str | None, in_text: bool) -> str | None:
    if value is None:
        return None
    if in_text:
        return value  # xml:space may make it meaningful; renderers collapse it otherwise
    return value.strip() or None


def _clean_tree(
    el: ET.Element, default_ns: str | None, keep_titles: bool, in_text: bool, has_css: bool
) -> None:
    for child in list(el):
        if not isinstance(child.tag, str):  # comments and processing instructions
            el.remove(child)
            continue
        ns, local = _split(child.tag)
        if ns is None and default_ns is None:
            ns = SVG_NS
        if ns != SVG_NS or local in _DROPPED_ELEMENTS or (
            not keep_titles and local in {"title", "desc"}
        ):
            el.remove(child)
            continue
        child.tag = f"{{{SVG_NS}}}{local}"
        _clean_attributes(child, local, has_css)
        if local in _REFERENCE_ELEMENTS and not any(k in child.attrib for k in _HREF_KEYS):
            el.remove(child)
            continue
        if local == "style" and child.text and (
            _CSS_IMPORT.search(child.text) or _EXTERNAL_URL.search(child.text)
        ):
            el.remove(child)
            continue
        child_in_text = in_text or local in _TEXT_BEARING
        _clean_tree(child, default_ns, keep_titles, child_in_text, has_css)
        child.text = _collapse_text(child.text, child_in_text)
        child.tail = _collapse_text(child.tail, in_text)


def _depth(root: ET.Element) -> int:
    """Nesting depth without recursion (hostile files nest thousands of levels)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        el, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in el)
    return deepest


def _length_px(value: str | None) -> float | None:
    if value is None:
        return None
    m = _LENGTH.match(value)
    if not m:
        return None
    number = float(m.group(1)) * _UNIT_TO_PX[m.group(2)]
    return number if number > 0 else None


def _fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


def _ensure_viewbox(root: ET.Element) -> None:
    vb = root.get("viewBox")
    if vb is not None:
        parts = vb.replace(",", " ").split()
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            nums = []
        if len(nums) == 4 and nums[2] > 0 and nums[3] > 0:
            return
        raise SVGCleanError("bad_viewbox", vb[:80])
    w, h = _length_px(root.get("width")), _length_px(root.get("height"))
    if w is None or h is None:
        raise SVGCleanError(
            "no_viewbox", f"width={root.get('width')!r} height={root.get('height')!r}"
        )
    root.set("viewBox", f"0 0 {_fmt(w)} {_fmt(h)}")


def _serialise(root: ET.Element) -> str:
    """Write SVG in the default namespace with the conventional `xlink:` prefix.

    ElementTree would invent `ns0:`/`ns1:` prefixes (or need process-global
    `register_namespace`), so names are written out literally instead.
    """
    uses_xlink = False
    for el in root.iter():
        el.tag = _split(el.tag)[1]
        for key in [k for k in el.attrib if k.startswith("{")]:
            ns, name = _split(key)
            prefix = "xlink" if ns == XLINK_NS else "xml"
            uses_xlink |= ns == XLINK_NS
            el.attrib[f"{prefix}:{name}"] = el.attrib.pop(key)
    attrs = {"xmlns": SVG_NS}
    if uses_xlink:
        attrs["xmlns:xlink"] = XLINK_NS
    attrs.update((k, v) for k, v in root.attrib.items() if k not in attrs)
    root.attrib.clear()
    root.attrib.update(attrs)
    # In serialised XML " />" can only close an empty element ('>' in values is escaped).
    return ET.tostring(root, encoding="unicode").replace(" />", "/>")


def clean_svg_strict(
    text: str,
    *,
    keep_titles: bool = False,
    max_input_chars: int = DEFAULT_MAX_INPUT_CHARS,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> str:
    """Clean one SVG document or raise `SVGCleanError` (or `UnsafeSVGError`) saying why.

    Keeps only SVG-namespace elements, internal `#id` references and inline data images;
    drops comments, processing instructions, DOCTYPE, metadata, editor namespaces
    (sodipodi, inkscape, Adobe i:/x:), scripts, event handlers and external URLs;
    collapses whitespace between tags; adds a viewBox from width/height when missing.
    """
    root = _parse(text, max_input_chars)
    ns, local = _split(root.tag)
    if local != "svg" or ns not in (SVG_NS, None):
        raise SVGCleanError("not_svg", f"root element is {root.tag!r}")
    n_elements = sum(1 for _ in root.iter())
    if n_elements > max_elements:
        raise SVGCleanError("too_many_elements", f"{n_elements} > {max_elements}")
    depth = _depth(root)
    if depth > max_depth:
        raise SVGCleanError("too_deep", f"{depth} > {max_depth} levels")
    root.tag = f"{{{SVG_NS}}}svg"
    has_css = any(_split(el.tag)[1] == "style" for el in root.iter() if isinstance(el.tag, str))
    _clean_attributes(root, "svg", has_css)
    _clean_tree(root, ns, keep_titles, in_text=False, has_css=has_css)
    root.text = _collapse_text(root.text, False)
    root.tail = None
    _ensure_viewbox(root)
    if len(root) == 0:
        raise SVGCleanError("empty", "no drawable children left")
    out = _serialise(root)
    # Re-parse our own output: what we hand on must be well-formed on its own.
    _parse(out, max(max_input_chars, len(out) + 1))
    return out


def clean_svg(text: object, *, keep_titles: bool = False) -> str | None:
    """Clean one SVG document; `None` when it cannot be made usable. Never raises."""
    try:
        return clean_svg_strict(text, keep_titles=keep_titles)  # type: ignore[arg-type]
    except SVGCleanError as exc:
        logger.debug("dropped svg: %s", exc)
        return None
    except Exception as exc:  # hostile input must not crash a batch; record and move on
        logger.warning("unexpected error cleaning svg (%s): %s", type(exc).__name__, exc)
        return None


# Markers of active content, for a vectorised first pass: only rows that match are
# parsed and cleaned (the XML pass decides; a false match just costs a clean).
ACTIVE_CONTENT = r"(?is)<\s*(?:[a-z0-9_-]+:)?(?:script|handler|listener)\b|\son[a-z]+\s*=|(?:java|vb)script\s*:"


def strip_active_content(svg) -> dict[int, tuple[str | None, str | None]]:
    """Scripts, event handlers and `javascript:` links out of a column of SVG text.

    Returns {row: (svg, error)} for the rows that carry active content (the others are
    left alone): each is cleaned by `clean_svg_strict` (the XML pass, never a regex on
    markup); a row that cannot be cleaned comes back (None, reason) for the funnel."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = svg if isinstance(svg, pa.ChunkedArray | pa.Array) else pa.array(svg, pa.string())
    rows = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(col, ACTIVE_CONTENT), False)).to_pylist()
    out: dict[int, tuple[str | None, str | None]] = {}
    for i, text in zip(rows, col.take(pa.array(rows, pa.int64())).to_pylist(), strict=True):
        try:
            out[i] = (clean_svg_strict(text, keep_titles=True), None)
        except SVGCleanError as exc:
            out[i] = (None, f"active_content:{exc.reason}")
        except Exception as exc:  # noqa: BLE001 - hostile input: a value, never a crashed batch
            out[i] = (None, f"active_content:{type(exc).__name__}")
    return out


def svg_title(text: str) -> str | None:
    """The document's own name: first `<title>` or Dublin Core `dc:title`, if any.

    Used as a caption source (Openclipart, Simple Icons) before cleaning drops metadata.
    """
    try:
        root = _parse(text, DEFAULT_MAX_INPUT_CHARS)
    except SVGCleanError:
        return None
    dc_title = None
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        ns, local = _split(el.tag)
        if local != "title":
            continue
        value = _WS.sub(" ", "".join(el.itertext())).strip()
        if not value:
            continue
        if ns in (SVG_NS, None):
            return value
        dc_title = dc_title or value
    return dc_title
