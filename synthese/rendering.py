"""Published sheets as HTML: markdown rendered without raw HTML or unsafe links."""
from markdown_it import MarkdownIt
from markupsafe import Markup

# CommonMark with raw HTML off: "<script>" stays text. markdown-it refuses
# javascript:, vbscript:, file: and data: links (validateLink). Images are off
# too: a published sheet must not load third-party pixels into readers' browsers.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


def _link_open(renderer, tokens, idx, options, env):
    # Links go to other sites without telling them where the reader came from.
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return renderer.renderToken(tokens, idx, options, env)


_md.add_render_rule("link_open", _link_open)


def to_html(text: str) -> Markup:
    """Safe HTML for markdown written by anyone."""
    return Markup(_md.render(text or ""))
