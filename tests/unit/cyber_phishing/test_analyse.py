"""Each check on a synthetic message: the verdict, and that the reason names the evidence."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from khusela.cyber.phishing import analyse
from khusela.cyber.phishing.attachments import extension_reasons
from khusela.cyber.phishing.domains import lookalike, registrable

RECEIVED = "from mail.example.net (mail.example.net [198.51.100.7]) by mx.gauteng.gov.za; Mon, 1 Jan 2024"


def message(
    sender: str,
    body: str = "Please find the minutes of Tuesday's meeting attached.",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    subject: str = "Minutes",
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "analyst@gauteng.gov.za"
    msg["Subject"] = subject
    msg["Received"] = RECEIVED
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def test_sars_impersonation_from_a_lookalike_domain_is_phishing() -> None:
    msg = message(
        '"SARS eFiling" <refunds@sars-refund.co>',
        "Your tax refund is waiting. Verify your account within 24 hours or it will be cancelled.",
        subject="Tax refund",
    )
    verdict = analyse(msg.as_bytes())
    assert verdict.verdict == "phishing"
    assert any("'SARS eFiling'" in r and "sars-refund.co" in r for r in verdict.reasons)
    assert any("sars-refund.co" in r and "sars.gov.za" in r for r in verdict.reasons)


def test_punycode_sender_domain_is_named() -> None:
    domain = "xn--gautng-6of.co.za"  # 'gaut\u0435ng': a Cyrillic e
    assert any("punycode" in r for r in lookalike(domain))
    verdict = analyse(message(f"Gauteng Provincial Government <info@{domain}>").as_bytes())
    assert verdict.verdict == "phishing"
    assert any("punycode" in r and domain in r for r in verdict.reasons)


@pytest.mark.parametrize(
    ("host", "evidence"),
    [
        ("gauteng.gov.za.verify-login.com", "in front of another domain"),
        ("sars.g0v.za", "look-alike characters"),
        ("nedbamk.co.za", "away from nedbank.co.za"),
        ("fnb-secure.com", "'fnb'"),
    ],
)
def test_lookalike_domains(host: str, evidence: str) -> None:
    reasons = lookalike(host)
    assert any(evidence in r for r in reasons), reasons


def test_real_protected_domains_are_not_lookalikes() -> None:
    assert lookalike("www.gauteng.gov.za") == []
    assert lookalike("mail.fnb.co.za") == []
    assert registrable("mail.sars.gov.za") == "sars.gov.za"


def test_ip_literal_link_behind_government_text() -> None:
    html = '<p>Update your details at <a href="http://185.220.101.4/login">www.gauteng.gov.za</a></p>'
    verdict = analyse(message("Gauteng HR <hr@gauteng-hr.net>", html=html).as_bytes())
    assert verdict.verdict == "phishing"
    assert any("www.gauteng.gov.za" in r and "185.220.101.4" in r for r in verdict.reasons)


def test_password_form_posting_elsewhere() -> None:
    html = '<form action="https://collect.example.ru/p"><input type="password" name="p"></form>'
    verdict = analyse(message("IT Desk <it@helpdesk-mail.com>", html=html).as_bytes())
    assert verdict.verdict in {"phishing", "suspicious"}
    assert any("password" in r for r in verdict.reasons)
    assert any("collect.example.ru" in r for r in verdict.reasons)


def test_double_extension_attachment() -> None:
    msg = message("Accounts <accounts@supplier.co.za>")
    msg.add_attachment(
        b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="invoice.pdf.exe"
    )
    verdict = analyse(msg.as_bytes())
    assert verdict.verdict in {"phishing", "suspicious"}
    assert any("invoice.pdf.exe" in r and ".exe" in r for r in verdict.reasons)
    assert extension_reasons("report.docx") == []


def test_authentication_failures_are_reported() -> None:
    headers = {
        "Authentication-Results": "mx.gauteng.gov.za; spf=fail smtp.mailfrom=x.com; dkim=fail; dmarc=fail"
    }
    verdict = analyse(message("Someone <someone@x.com>", headers=headers).as_bytes())
    assert verdict.verdict == "phishing"
    assert {"SPF", "DKIM", "DMARC"} <= {r.split()[0] for r in verdict.reasons}


def test_reply_to_elsewhere_is_reported() -> None:
    headers = {"Reply-To": "payments@quick-pay.biz"}
    verdict = analyse(message("Finance <finance@supplier.co.za>", headers=headers).as_bytes())
    assert any("payments@quick-pay.biz" in r and "supplier.co.za" in r for r in verdict.reasons)


def test_clean_government_mail() -> None:
    headers = {"Authentication-Results": "mx.gauteng.gov.za; spf=pass; dkim=pass; dmarc=pass"}
    html = '<p>Agenda: <a href="https://www.gauteng.gov.za/agenda">www.gauteng.gov.za</a></p>'
    verdict = analyse(
        message(
            "Gauteng Provincial Government <office@gauteng.gov.za>", html=html, headers=headers
        ).as_bytes()
    )
    assert verdict.verdict == "clean"
    assert verdict.score < 25


def test_malformed_input_does_not_raise() -> None:
    assert analyse(b"\x00\xff not a message").verdict == "clean"
