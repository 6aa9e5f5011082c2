"""Sealing short secrets at rest (`khusela.core.sealed`): what opens, and what must not."""

from __future__ import annotations

import base64

import pyotp
import pytest

from khusela.core.sealed import PREFIX, SealedColumn, Sealer, SealError, is_sealed
from khusela.identity import totp
from khusela.panic.partners.tables import SEALED as PARTNER_SEALED

KEY = "a-server-secret-of-some-length-0001"
SECRET = pyotp.random_base32()


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(KEY, totp.SEALED)


def test_a_sealed_value_opens_to_itself_and_does_not_show_it(sealer: Sealer) -> None:
    stored = sealer.seal(SECRET, "user-1")
    assert stored.startswith("sealed:v1:")
    assert SECRET not in stored
    assert sealer.open(stored, "user-1") == SECRET


def test_each_sealing_uses_a_fresh_nonce(sealer: Sealer) -> None:
    first, second = sealer.seal(SECRET, "user-1"), sealer.seal(SECRET, "user-1")
    assert first != second, "equal secrets must not look equal at rest"
    assert sealer.open(first, "user-1") == sealer.open(second, "user-1") == SECRET


def test_the_longest_values_fit_their_columns() -> None:
    assert len(Sealer(KEY, totp.SEALED).seal("A" * 64, "u")) <= 200  # users.totp_secret
    assert len(Sealer(KEY, PARTNER_SEALED).seal("s" * 200, "a")) <= 400  # partner_links.secret


def test_a_flipped_bit_does_not_open(sealer: Sealer) -> None:
    stored = sealer.seal(SECRET, "user-1")
    raw = bytearray(base64.urlsafe_b64decode(stored.removeprefix("sealed:v1:")))
    raw[20] ^= 0x01
    tampered = "sealed:v1:" + base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(SealError, match="does not open"):
        sealer.open(tampered, "user-1")


def test_a_value_moved_to_another_row_does_not_open(sealer: Sealer) -> None:
    stored = sealer.seal(SECRET, "victim")
    with pytest.raises(SealError, match="'attacker'"):
        sealer.open(stored, "attacker")


def test_another_purpose_or_another_key_does_not_open(sealer: Sealer) -> None:
    stored = sealer.seal(SECRET, "row-1")
    same_place_other_purpose = SealedColumn("partner-link", totp.SEALED.table, totp.SEALED.column)
    with pytest.raises(SealError):
        Sealer(KEY, same_place_other_purpose).open(stored, "row-1")
    with pytest.raises(SealError, match="KHUSELA_SECRET_KEY"):
        Sealer(KEY + "-rotated", totp.SEALED).open(stored, "row-1")


def test_the_error_names_the_place_but_never_the_secret_or_key(sealer: Sealer) -> None:
    with pytest.raises(SealError) as caught:
        Sealer("another-key", totp.SEALED).open(sealer.seal(SECRET, "user-1"), "user-1")
    message = str(caught.value)
    assert "users.totp_secret" in message
    assert SECRET not in message
    assert KEY not in message


def test_legacy_plaintext_reads_as_it_is(sealer: Sealer) -> None:
    assert not is_sealed(SECRET)
    assert sealer.open(SECRET, "user-1") == SECRET


@pytest.mark.parametrize(
    "broken",
    [f"{PREFIX}v9:AAAA", f"{PREFIX}v1:", f"{PREFIX}v1:c2hvcnQ=", f"{PREFIX}v1:!!!notbase64"],
    ids=["unknown version", "empty", "truncated", "not base64"],
)
def test_malformed_sealed_values_are_refused_not_taken_for_plaintext(sealer: Sealer, broken: str) -> None:
    with pytest.raises(SealError):
        sealer.open(broken, "user-1")


def test_an_empty_server_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Sealer("", totp.SEALED)
