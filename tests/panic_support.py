"""Helpers for panic tests: sign a resident in through the SMS-code flow, places in Gauteng."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.identity.adapters.sms_log import LogSmsSender
from tests.conftest import Person

HILLBROW = (-26.1885, 28.0470)
PRETORIA_CENTRAL = (-25.7479, 28.1878)


def resident_headers(client: TestClient, platform: Platform, person: Person, phone: str) -> dict[str, str]:
    """Sign a resident in as the app does (phone, texted code) and return the auth header."""
    assert client.post("/api/auth/resident/code", json={"phone": phone}).status_code == 202
    sms = platform.sms
    assert isinstance(sms, LogSmsSender)
    code = re.findall(r"\b\d{6}\b", sms.sent[-1][1])[0]
    token = client.post("/api/auth/resident/token", json={"phone": phone, "code": code})
    assert token.status_code == 200, token.text
    assert person.username
    return {"Authorization": f"Bearer {token.json()['access_token']}"}
