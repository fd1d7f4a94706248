"""HTML from mail: sanitised for display with nh3, and rendered as text when there is no text part.

The sanitised HTML carries no scripts, event handlers, styles, forms, frames or comments, and no
image that would be fetched from the network when an agent opens the message: remote images are
how senders learn that (and when) a mail was read, so they stay out unless the caller asks for
them (``allow_remote_images``, for an agent who chose to load them). Images that the mail carries
itself keep their ``cid:`` reference, which a browser never fetches and the inbox may map to the
attachment with that Content-ID. Links get ``rel="noopener noreferrer nofollow"``; relative URLs
are dropped, since in a mail they could only point into the portal itself."""

import re
from html.parser import HTMLParser

import nh3

LINK_REL = "noopener noreferrer nofollow"
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid"})
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS)
# Elements dropped together with their content: what they hold is code, page chrome or form
# controls, never part of what the sender wrote.
REMOVED_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "title",
        "head",
        "template",
        "noscript",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "textarea",
        "select",
        "button",
    }
)
ATTRIBUTES = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}

# nh3 escapes "<" and ">" inside attribute values, so on its output this finds whole tags.
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_HAS_SRC = re.compile(r'\ssrc="', re.IGNORECASE)


def _image_filter(allow_remote_images: bool):
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            scheme = value.split(":", 1)[0].strip().lower() if ":" in value else ""
            if scheme == "cid" or (allow_remote_images and scheme in {"http", "https"}):
                return value
            return None
        return value

    return keep


def _cleaner(allow_remote_images: bool) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes=ATTRIBUTES,
        attribute_filter=_image_filter(allow_remote_images),
        url_schemes=set(URL_SCHEMES),
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


# Built once: building the rules is most of what a short message's sanitising costs.
_CLEANERS = {allow: _cleaner(allow) for allow in (False, True)}


def sanitize_html(html: str, *, allow_remote_images: bool = False) -> str:
    """Return HTML safe to show inside the portal's pages."""
    if not html.strip():
        return ""
    cleaned = _CLEANERS[allow_remote_images].clean(html)
    # An image whose source was removed is a tracking pixel or a remote picture: drop the tag
    # rather than leave an empty box.
    return _IMG_TAG.sub(lambda m: m.group(0) if _HAS_SRC.search(m.group(0)) else "", cleaned)


# Elements that end a line, and those that also stand apart by a blank line.
_LINE_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "caption",
        "center",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "header",
        "li",
        "nav",
        "section",
        "summary",
        "tr",
    }
)
_PARAGRAPH_BLOCKS = frozenset(
    {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre", "table", "ul"}
)
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextRenderer(HTMLParser):
    """Blocks become lines, list items "- " lines, blockquotes "> " lines (so that the quote
    splitter sees quoted history as it would in a text part), table cells are tab-separated."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.pre_depth = 0
        self.skip_depth = 0

    def _prefix(self) -> str:
        return "> " * self.quote_depth

    def _flush(self, *, force: bool = False) -> None:
        line = "".join(self.current)
        if not self.pre_depth:
            line = line.strip(" ")
        self.current = []
        if line or force:
            self.lines.append((self._prefix() + line).rstrip())

    def _paragraph(self) -> None:
        self._flush()
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(self._prefix().rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in REMOVED_WITH_CONTENT:
            self.skip_depth += 1
        elif tag == "br":
            self._flush(force=True)
        elif tag in _PARAGRAPH_BLOCKS:
            self._paragraph()
            if tag == "blockquote":
                self.quote_depth += 1
            elif tag == "pre":
                self.pre_depth += 1
        elif tag in _LINE_BLOCKS:
            self._flush()
            if tag == "li":
                self.current.append("- ")
        elif tag in {"td", "th"} and "".join(self.current).strip():
            self.current.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in REMOVED_WITH_CONTENT:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _PARAGRAPH_BLOCKS:
            self._flush()
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            elif tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)
            self._paragraph()
        elif tag in _LINE_BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if not self.pre_depth:
            self.current.append(_SPACES.sub(" ", data))
            return
        for index, piece in enumerate(data.split("\n")):
            if index:
                self._flush(force=True)
            self.current.append(piece)

    def text(self) -> str:
        self._flush()
        return _BLANK_LINES.sub("\n\n", "\n".join(self.lines)).strip()


def html_to_text(html: str) -> str:
    """A plain-text rendering of (preferably already sanitised) HTML."""
    if not html.strip():
        return ""
    renderer = _TextRenderer()
    renderer.feed(html)
    renderer.close()
    return renderer.text()


def text_to_html(text: str) -> str:
    """HTML for a text part shown next to HTML parts of the same mail (iPhone mails mix them)."""
    return "<pre>" + nh3.escape(text) + "</pre>" if text else ""
