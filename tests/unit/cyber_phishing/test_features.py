"""The checks added for mail without authentication headers, each on a hand-written message:
the reason names the evidence, and ordinary mail with the same surface stays quiet."""

from __future__ import annotations

from email.message import EmailMessage

from khusela.cyber.phishing import analyse
from khusela.cyber.phishing.parse import parse_mail
from khusela.cyber.phishing.score import examine

RECEIVED = "from mail.example.net (mail.example.net [198.51.100.7]) by mx.gauteng.gov.za; Mon, 1 Jan 2024"


def message(
    sender: str, body: str = "See you at the meeting.", html: str | None = None, subject: str = "Hi"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "analyst@gauteng.gov.za"
    msg["Subject"] = subject
    msg["Received"] = RECEIVED
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def reasons(msg: EmailMessage | bytes) -> list[str]:
    return analyse(msg if isinstance(msg, bytes) else msg.as_bytes()).reasons


def test_raw_utf8_subject_is_read_as_text() -> None:
    raw = "From: a@b.org\nSubject: Fr\u0435\u0435 R\u0435w\u0430rds\n\nhello\n".encode()
    assert parse_mail(raw).subject == "Fr\u0435\u0435 R\u0435w\u0430rds"


def test_cyrillic_letters_inside_latin_words_are_named() -> None:
    found = reasons(message("Rewards <win@promo-mail.com>", subject="Fr\u0435\u0435 R\u0435w\u0430rds"))
    assert any("Cyrillic or Greek" in r and "Fr\u0435\u0435" in r for r in found), found


def test_brand_spelt_with_lookalike_letters_is_impersonation() -> None:
    found = reasons(message("McDon\u0430ld's <xeoriiqkew@eagleacct.com>"))
    assert any("display name says" in r and "eagleacct.com" in r for r in found), found


def test_styled_unicode_subject() -> None:
    found = reasons(
        message(
            "Car Team <join@example.com>",
            subject="\U0001d5ea\U0001d5f2\U0001d5f9\U0001d5f0\U0001d5fc\U0001d5fa\U0001d5f2",
        )
    )
    assert any("'styled' Unicode" in r for r in found), found


def test_letters_spaced_apart() -> None:
    found = reasons(message("Promo <p@example.com>", "H u r r y u p n o w, the prizes are limited"))
    assert any("spaces its letters apart" in r for r in found), found


def test_free_mail_sender_claiming_an_organisation() -> None:
    found = reasons(message("Revenue Service Support <refund.desk@gmail.com>"))
    assert any("claims to be an organisation" in r and "gmail.com" in r for r in found), found
    assert not any("organisation" in r for r in reasons(message("Thandi Mokoena <thandi@gmail.com>")))


def test_display_name_naming_another_site() -> None:
    found = reasons(message("Audienhearing.com <replyto_684@news.universr.org>"))
    assert any("names the site Audienhearing.com" in r for r in found), found
    assert not any("names the site" in r for r in reasons(message("example.org news <news@example.org>")))


def test_sender_on_free_hosting_and_link_to_a_storage_bucket() -> None:
    html = '<a href="https://bucket.blr1.digitaloceanspaces.com/x.html">Confirm now</a>'
    found = reasons(message("Support <noreply@app48-f586b.firebaseapp.com>", html=html))
    assert any("free hosting service anyone can send from (firebaseapp.com)" in r for r in found), found
    assert any("digitaloceanspaces.com" in r for r in found), found


def test_cheap_tld_sender() -> None:
    found = reasons(message("Offers <news@colegioc.9amla.shop>"))
    assert any(".shop" in r for r in found), found


def test_data_uri_link_and_run_time_html() -> None:
    html = (
        '<a href="data:text/html;base64,PGh0bWw+">Open invoice</a>'
        '<script>document.body.innerHTML=atob("PGI+")</script>'
    )
    found = reasons(message("Accounts <ap@supplier.co.za>", html=html))
    assert any("(a data: address)" in r for r in found), found
    assert any("builds its content with script" in r for r in found), found


def test_html_attachment_with_a_login_form() -> None:
    msg = message("Accounts <ap@supplier.co.za>", "Your remittance advice is attached.")
    page = b'<html><form action="https://x.example.ru/p"><input type="password" name="p"></form></html>'
    msg.add_attachment(page, maintype="text", subtype="html", filename="remittance.html")
    verdict = analyse(msg.as_bytes())
    assert verdict.verdict == "phishing"
    assert any("attached page 'remittance.html'" in r and "password" in r for r in verdict.reasons)


def test_credential_words_in_html_are_read_without_tags_or_styles() -> None:
    html = "<style>.verify{color:red}</style><p>Your <b>mailbox is</b> <i>full</i>.</p>"
    found = reasons(message("IT <it@helpdesk-mail.com>", html=html))
    assert any("'mailbox is full'" in r for r in found), found


def test_tracking_pixel_newsletter_is_clean() -> None:
    html = (
        "<p>This week at the library: new opening hours.</p>"
        '<img src="https://news.example.org/open.gif?id=42" width="1" height="1" style="display:block">'
        '<a href="https://www.example.org/hours">www.example.org</a>'
    )
    verdict = analyse(
        message("City Library <news@example.org>", html=html, subject="Opening hours").as_bytes()
    )
    assert verdict.verdict == "clean", verdict.reasons


def test_private_origin_relay_is_not_suspicious() -> None:
    msg = message("Thandi <thandi@example.org>")
    del msg["Received"]
    msg["Received"] = "from localhost (localhost [127.0.0.1]) by mail.example.org; Mon, 1 Jan 2024"
    assert not any("first relay" in r for r in reasons(msg))


def test_every_finding_names_its_family() -> None:
    findings = examine(message("Revenue Service Support <refund.desk@gmail.com>").as_bytes())
    claims = [f for f in findings if "organisation" in f.reason]
    assert claims
    assert all(f.family == "impersonation" for f in claims)
