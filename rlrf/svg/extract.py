"""Pull the SVG document out of a model completion.

Policies wrap SVG in code fences and prose, and roll-outs cut at the length limit end
mid-element (RLRF, arXiv 2505.20793, Sec. 3.3: dynamic max length truncates). We keep
the first `<svg ...>` … `</svg>`. Two callers, two rules for an unfinished document:

- evaluation (`rlrf.eval.run`) keeps StarVector's post-processing: a truncated document
  is closed sensibly (drop the cut tag, close the elements still open) so a
  long-but-correct prefix still renders, and eval numbers stay comparable with theirs;
- rewards (`rlrf.rewards.rendering`) call `extract_svg(text, close_truncated=False)`: a
  roll-out that has not closed its root `</svg>` within the length budget is unfinished
  and scores −1 on every term, as in the authors' reward server (HTplex/rlrf-rewarder
  `svg_rewarder.py::svg_compute_score` returns overall −1 for an SVG that does not
  parse), so a roll-out cut at the dynamic max length earns no partial credit.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

_SVG_OPEN = re.compile(r"<svg[\s>/]", re.IGNORECASE)
_TAG = re.compile(r"<(/?)([A-Za-z_][\w:.-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>")


_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


def extract_svg(completion: str, close_truncated: bool = True) -> str | None:
    """Return the SVG document in `completion`; None when there is no `<svg`.

    An unfinished document (no `</svg>` closing the root) is closed when
    `close_truncated` (evaluation), else None (rewards; see the module docstring).
    """
    if not isinstance(completion, str):
        return None
    start = _SVG_OPEN.search(completion)
    if start is None:
        return None
    text = completion[start.start() :]
    # Nested <svg> elements are legal; find the </svg> that closes the root.
    depth = 0
    for match in re.finditer(r"<svg[\s>/]|</svg\s*>", text, re.IGNORECASE):
        if match.group(0).startswith("</"):
            depth -= 1
            if depth == 0:
                return text[: match.end()]
        else:
            tag_end = text.find(">", match.start())
            self_closing = tag_end > 0 and text[tag_end - 1] == "/"
            depth += 0 if self_closing else 1
            if depth == 0:  # the root itself is <svg .../>
                return text[: tag_end + 1]
    return _close_truncated(text) if close_truncated else None


def is_well_formed(svg: str) -> bool:
    """True when `svg` parses as XML (expat), the reward's "does it parse" check.

    Documents with DTD declarations are refused unparsed: the renderer rejects them
    anyway (no entity expansion), and refusing here keeps expat away from entity bombs.
    """
    if _DECLARATION.search(svg):
        return False
    try:
        ET.fromstring(svg)
    except (ET.ParseError, ValueError):
        return False
    return True


def _close_truncated(text: str) -> str:
    """Cut an unfinished tag / comment at the end and close every element still open."""
    cut = text.rfind("<")
    if cut > 0 and text.find(">", cut) < 0:
        text = text[:cut]
    comment = text.rfind("<!--")
    if comment >= 0 and text.find("-->", comment) < 0:
        text = text[:comment]
    open_tags: list[str] = []
    for match in _TAG.finditer(text):
        closing, name, _, self_closing = match.groups()
        if self_closing:
            continue
        if closing:
            if name in open_tags:
                del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name) :]
        else:
            open_tags.append(name)
    if not open_tags:
        return text
    return text + "".join(f"</{name}>" for name in reversed(open_tags))
