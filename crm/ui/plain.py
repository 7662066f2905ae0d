"""User text shown as text in Streamlit's markdown, never as a link, an image or markup.

st.markdown, st.caption, st.info/success/warning/error, headers, expander and metric
labels all read Markdown (GitHub's, plus Streamlit's `:blue[…]` and `:material/…:`
directives, emoji shortcodes and `$…$` LaTeX). A firm named `[点此](http://…)` or an
appeal whose description holds `![](http://…/track.png)` would render as a live link
or load an image for whoever opens the page. So every value a person typed (a title,
a description, a reply, a firm, chamber, bank, fair or person name, a note) goes
through `plain` before it meets Markdown: each character Markdown or Streamlit gives
a meaning is backslash-escaped, and the bare-URL and e-mail autolinks (which GitHub
Markdown finds in text even after escaping) are broken with an invisible zero-width
space after `http`/`https`/`ftp`/`www` and after `@`. Line breaks stay line breaks.
HTML is never enabled (no unsafe_allow_html on user text), and `<`/`>` are escaped
too. Tables (st.dataframe) show text as it is and need none of this.

No Streamlit here: pages and crm/ui helpers import it, tests call it directly.
"""

from __future__ import annotations

import re

# every ASCII punctuation character Markdown, GFM or Streamlit's extensions may read
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&^=@\"'%/])")
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|@)")
ZWSP = "\u200b"


def plain(value: object) -> str:
    """`value` as Markdown that renders exactly as the text (None as '')."""
    if value is None:
        return ""
    text = _AUTOLINK.sub(lambda m: m.group(1) + ZWSP, str(value))
    text = _SPECIAL.sub(r"\\\1", text)
    return "  \n".join(text.splitlines())
