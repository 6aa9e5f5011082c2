"""Admiralty grading and the 3x5x2 handling code."""

from __future__ import annotations

import pytest

from khusela.intel.grading import Credibility, Grade, HandlingCode, Reliability


@pytest.mark.parametrize("text", ["B2 P", "b2p", "B-2/P", " b 2 p "])
def test_grades_are_read_as_analysts_write_them(text: str) -> None:
    grade = Grade.parse(text)
    assert grade == Grade(Reliability.B, Credibility.PROBABLY_TRUE, HandlingCode.P)
    assert grade.code == "B2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("G2 P", "reliability"),
        ("B7 P", "credibility"),
        ("B2 X", "handling"),
        ("B2", "e.g. 'B2 P'"),
        ("", "e.g."),
    ],
)
def test_bad_grades_are_refused_saying_which_part_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Grade.parse(text)


def test_every_grade_has_its_standard_meaning() -> None:
    assert Reliability.A.meaning.startswith("completely reliable")
    assert Reliability.F.meaning.startswith("reliability cannot be judged")
    assert Credibility(1).meaning.startswith("confirmed")
    assert Credibility(6).meaning.startswith("truth cannot be judged")
    assert len({r.meaning for r in Reliability}) == 6
    assert len({c.meaning for c in Credibility}) == 6


def test_handling_codes_explain_whether_sharing_is_permitted() -> None:
    assert "lawful sharing permitted" in HandlingCode.P.meaning
    assert "conditions apply" in HandlingCode.C.meaning


def test_explain_reads_as_one_briefing_sentence_per_part() -> None:
    text = Grade.parse("E5 C").explain()
    assert text.startswith("Source E: unreliable")
    assert "Information 5: not confirmed; illogical" in text
    assert text.endswith(
        "Handling C: conditions apply: sharing needs the originator's conditions, sanitising or consent."
    )
