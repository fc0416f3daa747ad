"""Reading a Markdown report back as GitHub renders it (cmark-gfm), for the tests of cli/render.py's Markdown.

Only the report's own elements may appear, with no attributes and no comments: each cell is a list of
("code", text) / ("text", text) / ("br", "") as the HTML shows it.
"""

from __future__ import annotations

from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import strategies as st

from sg_bitbucket_iac.cli.render import NONE

ALLOWED_TAGS = {"h3", "p", "strong", "code", "table", "thead", "tbody", "tr", "th", "td", "br", "details", "summary"}
# What Markdown, HTML and GitHub act on, and what terminals and YAML do: drawn far more often than chance.
SPECIAL = [*"`|\\<>&[]()!*_#@:~-=+.{}\"'/ \t\n\r", "<!--", "-->", "](", "![", "http://", "www.", "&amp;", "\x1b",
           "\x00", "\u202e", "\u2028", "\x85", ":smile:"]
TEXT = st.lists(st.one_of(st.sampled_from(SPECIAL), st.characters(exclude_categories=("Cs",))),
                max_size=20).map("".join)


class Cells(HTMLParser):
    """The rendered report: each table cell as a list of ("code", text) / ("text", text) / ("br", ""),
    every paragraph likewise, and every tag or comment seen (to compare with what is allowed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []
        self.rows: list[list[list[tuple[str, str]]]] = []
        self.paragraphs: list[list[tuple[str, str]]] = []
        self._cell: list[tuple[str, str]] | None = None
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
            self.rows[-1].append(self._cell)
        elif tag == "p":
            self._cell = []
            self.paragraphs.append(self._cell)
        elif tag == "code":
            self._in_code = True
            assert self._cell is not None
            self._cell.append(("code", ""))
        elif tag == "br" and self._cell is not None:
            self._cell.append(("br", ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._in_code = False
        elif tag in ("td", "th", "p"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is None:
            return
        if self._in_code or (self._cell and self._cell[-1][0] == "text"):
            self._cell[-1] = (self._cell[-1][0], self._cell[-1][1] + data)
        else:
            self._cell.append(("text", data))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def rendered(markdown: str) -> Cells:
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    cells = Cells()
    cells.feed(html)
    cells.close()
    assert not cells.comments, cells.comments
    assert {tag for tag, _ in cells.tags} <= ALLOWED_TAGS, html
    assert all(not attrs for _, attrs in cells.tags), html  # no href, src, on*= ...: nothing can be one
    return cells


def code(value: str) -> tuple[str, str]:
    """What one value renders as: its text in a code element (`—` as text when empty)."""
    return ("code", value) if value else ("text", NONE)


def merged(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Adjacent texts as one, as the parser reads them."""
    out: list[tuple[str, str]] = []
    for kind, text in items:
        if out and kind == "text" and out[-1][0] == "text":
            out[-1] = ("text", out[-1][1] + text)
        else:
            out.append((kind, text))
    return out


def cell_text(cell: list[tuple[str, str]]) -> str:
    """A cell's text as a person reads it (code and prose alike)."""
    return "".join(text for _, text in cell)
