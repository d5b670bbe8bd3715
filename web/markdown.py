"""Markdown that members write, rendered so that nothing in it can run: the `markdown` template filter.

markdown-it-py does the parsing with raw HTML switched off, so `<script>` and `<iframe>` arrive as text.
On top of that:
- a link survives only if its address starts with http://, https:// or mailto: (an allow-list, not a
  block-list, because `jav&#x09;ascript:`, `JAVASCRIPT:` and the like are endless); markdown-it hands
  `validateLink` the address after decoding entities, so the obfuscated forms are seen as written;
- an image becomes a plain link to it, so a comment cannot load things from other sites into the page;
- every link gets rel="nofollow ugc noopener";
- headings are moved down the outline, so a comment cannot add an h1 or h2 to the page.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

ALLOWED_LINK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
LINK_REL = "nofollow ugc noopener"
TOP_HEADING = 3  # a comment's "# Heading" becomes an h3 under the page's h2 "Discussion"


class SafeMarkdown(MarkdownIt):
    """CommonMark without raw HTML, with links restricted to web and e-mail addresses."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False, "linkify": False, "typographer": False})
        self.add_render_rule("link_open", render_link_open)
        self.add_render_rule("image", render_image)

    def validateLink(self, url: str) -> bool:  # noqa: N802  (markdown-it's name)
        # `url` has been normalised (entities decoded, then percent-encoded): "jav&#x09;ascript:" arrives as
        # "jav%09ascript:", which does not start with an allowed scheme and so is refused.
        return bool(ALLOWED_LINK.match(url.strip()))


def render_link_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)


def render_image(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    """An image as a link to it (its address already passed validateLink), labelled with its alt text."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = str(token.attrGet("src") or "")
    return f'<a href="{escape(src)}" rel="{LINK_REL}">Image: {escape(alt)}</a>'


_parser = SafeMarkdown()


def demote_headings(tokens: list[Token], top: int) -> None:
    """h1 becomes h`top`, h2 becomes h`top`+1, and so on, never past h6."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1])
            token.tag = f"h{min(6, level + top - 1)}"


def render_markdown(text: str | None, top: int = TOP_HEADING) -> Markup:
    """Member-written Markdown as HTML that is safe to put in a page."""
    tokens = _parser.parse(text or "")
    demote_headings(tokens, max(3, min(6, top)))
    return Markup(_parser.renderer.render(tokens, _parser.options, {}))


def install(templates: Jinja2Templates) -> None:
    """Register the `markdown` filter: {{ comment.body | markdown }} or {{ body | markdown(4) }}."""
    templates.env.filters["markdown"] = render_markdown
