"""The USSD menu as a pure function of the gateway's accumulated `text`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khusela.panic.channels import ussd
from khusela.panic.channels.ussd import Stage, Step
from khusela.panic.model import AlertType


def test_dialling_in_shows_the_numbered_menu() -> None:
    current = ussd.step("")
    assert current == Step(Stage.CHOOSE_TYPE)
    text = ussd.screen(current)
    assert text.startswith("CON ")
    for line in ("1 Crime", "2 Medical", "3 Fire", "4 Abuse/GBV", "5 Accident", "6 Other"):
        assert line in text


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("1", AlertType.CRIME),
        ("2", AlertType.MEDICAL),
        ("3", AlertType.FIRE),
        ("4", AlertType.GBV),
        ("5", AlertType.ACCIDENT),
        ("6", AlertType.OTHER),
    ],
)
def test_a_choice_asks_where_the_caller_is(choice: str, expected: AlertType) -> None:
    current = ussd.step(choice)
    assert current == Step(Stage.ASK_LOCATION, expected)
    text = ussd.screen(current, "A1B2C3")
    assert text.startswith("CON ")
    assert "A1B2C3" in text
    assert "landmark or address" in text


def test_a_typed_landmark_ends_the_session_with_a_reference() -> None:
    current = ussd.step("1*Corner of Main and 5th")
    assert current == Step(Stage.LOCATED, AlertType.CRIME, location_text="Corner of Main and 5th")
    text = ussd.screen(current, "A1B2C3")
    assert text.startswith("END ")
    assert "Ref A1B2C3" in text
    assert "help is being arranged" in text.lower()


def test_a_star_typed_inside_the_address_is_kept() -> None:
    assert ussd.step("2*Unit 4*Block B, Diepsloot").location_text == "Unit 4*Block B, Diepsloot"


def test_spaces_are_tidied() -> None:
    assert ussd.step("3*  12   Vilakazi St \n").location_text == "12 Vilakazi St"


@pytest.mark.parametrize("typed", ["1*0", "1*", "1* ", "1*  0 "])
def test_no_location_means_unknown_and_says_we_will_call(typed: str) -> None:
    current = ussd.step(typed)
    assert current.stage is Stage.LOCATED
    assert current.location_text is None
    text = ussd.screen(current, "A1B2C3")
    assert text.startswith("END ")
    assert "call you" in text


def test_the_end_screen_does_not_ask_to_call_when_the_alert_has_a_position() -> None:
    text = ussd.screen(ussd.step("1*0"), "A1B2C3", location_known=True)
    assert "find where you are" not in text


@pytest.mark.parametrize("typed", ["9", "0", "abc", "7*8"])
def test_an_invalid_choice_asks_again(typed: str) -> None:
    current = ussd.step(typed)
    assert current == Step(Stage.CHOOSE_TYPE, retry=True)
    text = ussd.screen(current)
    assert text.startswith("CON Please reply with a number 1-6.")
    assert "1 Crime" in text


def test_a_valid_choice_after_an_invalid_one_counts() -> None:
    assert ussd.step("9*2") == Step(Stage.ASK_LOCATION, AlertType.MEDICAL)
    assert ussd.step("9*2*Jabulani Mall") == Step(Stage.LOCATED, AlertType.MEDICAL, "Jabulani Mall")


def test_long_addresses_are_cut_to_what_the_alert_stores() -> None:
    located = ussd.step("1*" + "x" * 1000).location_text
    assert located is not None
    assert len(located) == ussd.MAX_LOCATION


def test_screens_after_a_choice_need_the_alert_reference() -> None:
    with pytest.raises(ValueError, match="reference"):
        ussd.screen(ussd.step("1"))


@given(st.text(max_size=200))
def test_every_screen_fits_one_ussd_page(typed: str) -> None:
    """Whatever a caller types, the reply is CON/END and under 160 characters."""
    text = ussd.screen(ussd.step(typed), "ABCDEF")
    assert text.startswith(("CON ", "END "))
    assert len(text) < 160
