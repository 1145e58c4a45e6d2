"""Course text (课程正文): Markdown to HTML that is safe to put in a page.

Two locks, so one failing does not open the page: markdown-it renders with raw HTML off (a
``<script>`` in the source comes out as text), and nh3 (the Rust ``ammonia`` sanitiser) then
keeps only an allow-list of tags and attributes and only http(s)/mailto links, so a
``javascript:`` link, an ``on*=`` attribute or a ``style`` cannot reach the browser whatever
the renderer let through.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

__all__ = ["ALLOWED_TAGS", "render_course"]

ALLOWED_TAGS: Final = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
        "tr", "ul",
    }
)  # fmt: skip
_ATTRIBUTES: Final = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
_SCHEMES: Final = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=128)  # courses change rarely and are read often; pure Python is ~8 ms/KB
def render_course(source: str) -> str:
    """Sanitised HTML of a course's Markdown (tables and strikethrough included).

    Links get ``rel="noopener noreferrer nofollow"``; images are dropped (a course's files are
    its attachments), as is every tag and attribute not on the allow-list.
    """
    import nh3  # paid for by the course page only
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    html = md.render(source or "")
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
        url_schemes=set(_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
