"""South African plate layouts: each is recognised, displayed as people write it, and
look-alike characters are corrected only where the layout says what the slot must be."""

from __future__ import annotations

import pytest

from khusela.cctv.plates import normalise
from khusela.cctv.plates.normalise import UNKNOWN, clean


@pytest.mark.parametrize(
    ("raw", "canonical", "display", "fmt"),
    [
        ("CA 123-456", "CA123456", "CA 123-456", "western_cape"),
        ("ca123456", "CA123456", "CA 123-456", "western_cape"),
        ("CY 12345", "CY12345", "CY 12-345", "western_cape"),
        ("CFM 1234", "CFM1234", "CFM 1-234", "western_cape"),
        ("C.A. 123.456", "CA123456", "CA 123-456", "western_cape"),
        ("CL 123", "CL123", "CL 123", "western_cape"),
        ("ND 123-456", "ND123456", "ND 123-456", "kwazulu_natal"),
        ("NU 12345", "NU12345", "NU 12-345", "kwazulu_natal"),
        ("BB 12 CC GP", "BB12CCGP", "BB 12 CC GP", "gauteng"),
        ("bb-12-cc-gp", "BB12CCGP", "BB 12 CC GP", "gauteng"),
        ("ABC 123 GP", "ABC123GP", "ABC 123 GP", "gauteng_old"),
        ("XYZ 987 MP", "XYZ987MP", "XYZ 987 MP", "mpumalanga"),
        ("FF 12 GG MP", "FF12GGMP", "FF 12 GG MP", "mpumalanga"),
        ("XYZ 987 L", "XYZ987L", "XYZ 987 L", "limpopo"),
        ("ABC 123 NW", "ABC123NW", "ABC 123 NW", "north_west"),
        ("ABC 123 NC", "ABC123NC", "ABC 123 NC", "northern_cape"),
        ("ABC 123 EC", "ABC123EC", "ABC 123 EC", "eastern_cape"),
        ("HH 45 JJ EC", "HH45JJEC", "HH 45 JJ EC", "eastern_cape"),
        ("ABC 123 FS", "ABC123FS", "ABC 123 FS", "free_state"),
        ("JOHN GP", "JOHNGP", "JOHN GP", "personalised_gauteng"),
        ("JOHN WP", "JOHNWP", "JOHN WP", "personalised_western_cape"),
        ("KHUSEL1 GP", "KHUSEL1GP", "KHUSEL1 GP", "personalised_gauteng"),
        ("THABO KZN", "THABOKZN", "THABO KZN", "personalised_kwazulu_natal"),
        ("THABO ZN", "THABOZN", "THABO ZN", "personalised_kwazulu_natal"),
        ("LERATO MP", "LERATOMP", "LERATO MP", "personalised_mpumalanga"),
        ("LERATO L", "LERATOL", "LERATO L", "personalised_limpopo"),
        ("SIPHO NW", "SIPHONW", "SIPHO NW", "personalised_north_west"),
        ("KAROO NC", "KAROONC", "KAROO NC", "personalised_northern_cape"),
        ("SURF EC", "SURFEC", "SURF EC", "personalised_eastern_cape"),
        ("MAIZE FS", "MAIZEFS", "MAIZE FS", "personalised_free_state"),
    ],
)
def test_south_african_layouts(raw: str, canonical: str, display: str, fmt: str) -> None:
    plate = normalise(raw)
    assert (plate.canonical, plate.display, plate.format) == (canonical, display, fmt)
    assert plate.known


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("AB0 I23 GP", "ABO123GP"),  # 0 in a letter slot is O, I in a digit slot is 1
        ("8B 12 CC 6P", "BB12CCGP"),  # the suffix itself misread
        ("BB I2 CC GP", "BB12CCGP"),
        ("CA 12O-456", "CA120456"),
        ("ABC 1Z3 MP", "ABC123MP"),
    ],
)
def test_look_alikes_are_corrected_to_fit_the_layout(raw: str, canonical: str) -> None:
    plate = normalise(raw)
    assert plate.canonical == canonical
    assert plate.corrected


@pytest.mark.parametrize(
    "raw",
    ["M5-XSX", "WA 56660", "BIMMIAN", "RK346AL", "CZWSQ3021", "OY09 FEU", "W0 53011", "1T43213"],
)
def test_foreign_plates_keep_their_text(raw: str) -> None:
    """A weak anchor (a lone L, a leading C) never justifies rewriting a foreign plate."""
    plate = normalise(raw)
    assert plate.canonical == clean(raw)
    assert not plate.corrected


def test_unknown_layout_is_still_canonical() -> None:
    plate = normalise(" m5-xsx ")
    assert (plate.canonical, plate.display, plate.format) == ("M5XSX", "M5XSX", UNKNOWN)


def test_lone_l_suffix_needs_a_separate_word() -> None:
    assert normalise("LERATOL").format == UNKNOWN
    assert normalise("LERATO L").format == "personalised_limpopo"


def test_noise_and_accents_are_stripped() -> None:
    assert clean("ÇA 123·456\n") == "CA123456"
    assert normalise("").canonical == ""
