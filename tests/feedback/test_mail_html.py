"""HTML sanitising and the text rendering of HTML (feedback/mail/html.py)."""

from datetime import UTC, datetime
from pathlib import Path

from feedback.mail import parse_message, sanitize_html
from feedback.mail.html import LINK_REL, html_to_text

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
RECEIVED = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def hostile_html() -> str:
    raw = (FIXTURES / "html_only_hostile.eml").read_bytes()
    return parse_message(raw, received_at=RECEIVED).html


def test_scripts_styles_handlers_forms_and_frames_are_removed():
    html = hostile_html()

    for forbidden in ("<script", "document.cookie", "<style", "style=", "onload", "onclick"):
        assert forbidden not in html
    for forbidden in ("<form", "<input", "password", "<button", "<iframe", "<title"):
        assert forbidden not in html
    assert "Hello <b>friend</b>, your cart is waiting." in html


def test_remote_images_and_tracking_pixels_stay_out_and_cid_images_stay():
    html = hostile_html()

    assert "banner.jpg" not in html
    assert "open.gif" not in html
    assert 'width="1"' not in html
    assert '<img src="cid:logo@shop.example" alt="Shop logo">' in html


def test_links_get_rel_and_javascript_links_lose_their_target():
    html = hostile_html()

    assert f'<a href="https://shop.example/cart" rel="{LINK_REL}">Open your cart</a>' in html
    assert "javascript:" not in html
    assert f'<a rel="{LINK_REL}">click me</a>' in html


def test_relative_urls_are_dropped():
    assert sanitize_html('<a href="/admin/">portal</a>') == f'<a rel="{LINK_REL}">portal</a>'


def test_remote_images_load_when_the_caller_allows_them():
    html = '<img src="https://images.shop.example/banner.jpg" alt="banner">'

    assert "banner.jpg" in sanitize_html(html, allow_remote_images=True)
    assert sanitize_html(html) == ""


def test_text_rendering_keeps_paragraphs_lists_tables_and_quotes():
    html = (
        "<p>Hello,</p><p>the <b>invoice</b> &amp; the receipt differ:</p>"
        "<ul><li>seats</li><li>price</li></ul>"
        "<table><tr><td>a</td><td>b</td></tr></table>"
        "<div>On Mon, Support wrote:</div><blockquote><p>Try again.</p></blockquote>"
    )

    assert html_to_text(sanitize_html(html)) == (
        "Hello,\n\nthe invoice & the receipt differ:\n\n- seats\n- price\n\na\tb\n\n"
        "On Mon, Support wrote:\n\n> Try again.\n>"
    )


def test_text_rendering_collapses_whitespace_but_keeps_preformatted_text():
    html = "<p>lots   of\n   space</p><pre>  indented\n    code</pre>"

    assert html_to_text(html) == "lots of space\n\n  indented\n    code"
