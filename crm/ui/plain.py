"""User text shown as text in Streamlit's markdown, never as a link, an image or markup.

st.markdown, st.caption, st.info/success/warning/error, headers, expander and metric
labels all read Markdown (GitHub's, plus Streamlit's `:blue[…]` and `:material/…:`
directives, emoji shortcodes and `$…$` LaTeX). A firm named `[点此](http://…)` or an
appeal whose description holds `![](http://…/track.png)` would render as a live link
or load an image for whoever opens the page. So every value a person typed (a title,
a description, a reply, a firm, chamber, bank, fair or person name, a note) goes
through `plain` before it meets Markdown: each character Markdown or Streamlit gives
a meaning where it stands is backslash-escaped (an underscore inside snake_case, a
hyphen inside 2024-03-01 or a dot inside 50.00 mean nothing and stay as typed), and
the bare-URL and e-mail autolinks (which GitHub Markdown finds in text even after
escaping) are broken with an invisible zero-width
space after `http`/`https`/`ftp`/`www` and after `@`. Line breaks stay line breaks.
HTML is never enabled (no unsafe_allow_html on user text), and `<`/`>` are escaped
too. Tables (st.dataframe) show text as it is and need none of this.

No Streamlit here: pages and crm/ui helpers import it, tests call it directly.
"""

from __future__ import annotations

import re

# Markdown reads these anywhere: emphasis, code, links and images, HTML, strikethrough,
# tables, LaTeX, a backslash itself.
_ANYWHERE = re.compile(r"([\\`*\[\]<~|$])")
# ... and these only in some places: _ at a word's edge (snake_case stays as it is),
# : before a letter (Streamlit's :red[…] and :material/…: directives, emoji
# shortcodes), & before an entity name or number.
_IN_PLACE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|:(?=[A-Za-z])|&(?=[#A-Za-z])")
# ... and these at the start of a line: headings, block quotes, lists, rules, setext.
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])", re.MULTILINE)
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|@)")
ZWSP = "\u200b"


def plain(value: object) -> str:
    """`value` as Markdown that renders exactly as the text (None as '')."""
    if value is None:
        return ""
    text = _AUTOLINK.sub(lambda m: m.group(1) + ZWSP, str(value))
    text = _ANYWHERE.sub(r"\\\1", text)
    text = _IN_PLACE.sub(lambda m: "\\" + m.group(0), text)
    text = _LINE_START.sub(_escape_line_start, text)
    return "  \n".join(text.splitlines())


def _escape_line_start(m: re.Match) -> str:
    lead, mark = m.group(1), m.group(2)
    # "1. " or "1) " starts a numbered list: the dot or parenthesis is escaped
    return lead + mark[:-1] + "\\" + mark[-1]
