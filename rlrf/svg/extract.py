"""Pull the SVG document out of a model completion.

Policies wrap SVG in code fences and prose, and roll-outs cut at the length limit end
mid-element (RLRF, arXiv 2505.20793, Sec. 3.3: dynamic max length truncates). We keep
the first `<svg ...>` … `</svg>`; a truncated document is closed sensibly (drop the cut
tag, close the elements still open) so a long-but-correct prefix still renders and scores.
"""

from __future__ import annotations

import re

_SVG_OPEN = re.compile(r"<svg[\s>/]", re.IGNORECASE)
_SVG_CLOSE = re.compile(r"</svg\s*>", re.IGNORECASE)
_TAG = re.compile(r"<(/?)([A-Za-z_][\w:.-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>")


def extract_svg(completion: str) -> str | None:
    """Return the SVG document in `completion`, closing a truncated one; None when there is no `<svg`."""
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
    return _close_truncated(text)


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
