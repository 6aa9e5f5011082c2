"""POPIA screening: South African ID numbers (date, citizenship, Luhn) and phone numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from khusela.partners.screening import Kind, is_sa_id_number, luhn_ok, screen

VALID_ID = "8001015009087"  # 1 Jan 1980, male, citizen; Luhn check digit 7


def test_a_valid_id_number_passes_date_citizenship_and_luhn() -> None:
    assert is_sa_id_number(VALID_ID)


def test_a_wrong_check_digit_is_not_an_id_number() -> None:
    assert not is_sa_id_number(VALID_ID[:-1] + "8")


def test_an_impossible_date_is_not_an_id_number() -> None:
    body = "800231500908"  # 31 February
    check = next(d for d in "0123456789" if luhn_ok(body + d))
    assert not is_sa_id_number(body + check)


def test_a_leap_day_id_number_is_accepted() -> None:
    body = "000229500908"  # 29 February 2000
    check = next(d for d in "0123456789" if luhn_ok(body + d))
    assert is_sa_id_number(body + check)


def test_citizenship_digit_must_be_0_1_or_2() -> None:
    body = "800101500938"  # citizenship digit 3
    check = next(d for d in "0123456789" if luhn_ok(body + d))
    assert not is_sa_id_number(body + check)


def test_screen_flags_ids_and_phone_numbers_in_free_text_masked() -> None:
    text = f"Man at no. 12, ID {VALID_ID}, said call him on 082 555 1234 or +27 11 555 6789."
    found = screen(text)
    assert [f.kind for f in found] == [Kind.ID_NUMBER, Kind.PHONE_NUMBER, Kind.PHONE_NUMBER]
    assert found[0].masked.endswith("87")
    assert "8001" not in found[0].masked
    assert text[found[1].start : found[1].end] == "082 555 1234"
    assert text[found[2].start : found[2].end] == "+27 11 555 6789"


def test_ordinary_patrol_text_raises_no_flag() -> None:
    text = "Patrolled 22:00-02:00 along Louis Botha Ave, 3 streetlights out, 2 vehicles checked, 14 km."
    assert screen(text) == []


def test_an_id_number_is_not_also_reported_as_a_phone_number() -> None:
    assert [f.kind for f in screen(f"id {VALID_ID}")] == [Kind.ID_NUMBER]


@given(st.from_regex(r"[0-9]{13}", fullmatch=True))
def test_anything_flagged_as_an_id_passes_luhn(digits: str) -> None:
    if is_sa_id_number(digits):
        assert luhn_ok(digits)
