"""Each Sigma modifier and condition form, on small synthetic rules."""

from __future__ import annotations

import base64

import pytest

from khusela.cyber.sigma import load_text
from khusela.cyber.sigma.compile import UnsupportedRule
from khusela.cyber.sigma.load import load_rules


def rule(detection: str) -> str:
    return (
        "title: t\nid: 11111111-1111-1111-1111-111111111111\nlevel: high\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n" + detection
    )


def matches(detection: str, event: dict[str, object]) -> bool:
    return load_text(rule(detection)).matcher(event)


@pytest.mark.parametrize(
    ("detection", "event", "expected"),
    [
        (
            "  sel:\n    Image: 'C:\\Windows\\cmd.exe'\n  condition: sel\n",
            {"Image": "c:\\windows\\CMD.exe"},
            True,
        ),
        ("  sel:\n    Image: 'cmd.exe'\n  condition: sel\n", {"Image": "c:\\cmd.exe"}, False),
        (
            "  sel:\n    CommandLine|contains: 'EnCoded'\n  condition: sel\n",
            {"CommandLine": "ps -encoded x"},
            True,
        ),
        ("  sel:\n    Image|startswith: 'C:\\Temp'\n  condition: sel\n", {"Image": "c:\\temp\\a.exe"}, True),
        ("  sel:\n    Image|endswith: '\\a.exe'\n  condition: sel\n", {"Image": "c:\\temp\\b.exe"}, False),
        ("  sel:\n    Image: 'c:\\t?mp*.exe'\n  condition: sel\n", {"Image": "C:\\TEMP\\x.exe"}, True),
        (
            "  sel:\n    CommandLine|contains|all: ['a1', 'b2']\n  condition: sel\n",
            {"CommandLine": "b2 a1"},
            True,
        ),
        (
            "  sel:\n    CommandLine|contains|all: ['a1', 'b2']\n  condition: sel\n",
            {"CommandLine": "a1"},
            False,
        ),
        ("  sel:\n    CommandLine|re: '^ab+c$'\n  condition: sel\n", {"CommandLine": "abbbc"}, True),
        ("  sel:\n    CommandLine|re|i: '^ABC'\n  condition: sel\n", {"CommandLine": "abc"}, True),
        (
            "  sel:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: sel\n",
            {"DestinationIp": "10.2.3.4"},
            True,
        ),
        (
            "  sel:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: sel\n",
            {"DestinationIp": "11.2.3.4"},
            False,
        ),
        (
            "  sel:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel\n",
            {"CommandLine": "x /enc y"},
            True,
        ),
        ("  sel:\n    EventID: 4688\n  condition: sel\n", {"EventID": 4688}, True),
        ("  sel:\n    EventID: 4688\n  condition: sel\n", {"EventID": "4688"}, True),
        ("  sel:\n    ParentImage: null\n  condition: sel\n", {"Image": "a"}, True),
        ("  sel:\n    ParentImage|exists: true\n  condition: sel\n", {"Image": "a"}, False),
        ("  sel:\n    EventID|gte: 10\n  condition: sel\n", {"EventID": 12}, True),
        ("  sel:\n    User|fieldref: ParentUser\n  condition: sel\n", {"User": "A", "ParentUser": "a"}, True),
    ],
)
def test_field_modifiers(detection: str, event: dict[str, object], expected: bool) -> None:
    assert matches(detection, event) is expected


def test_base64_and_base64offset() -> None:
    encoded = base64.b64encode(b"xxhttp://evil").decode()
    assert matches(
        "  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel\n",
        {"CommandLine": encoded},
    )
    plain = base64.b64encode(b"whoami").decode()
    assert matches("  sel:\n    CommandLine|base64: 'whoami'\n  condition: sel\n", {"CommandLine": plain})


def test_wide_is_utf16le_then_base64() -> None:
    encoded = base64.b64encode("iex(".encode("utf-16-le")).decode()
    detection = "  sel:\n    CommandLine|wide|base64offset|contains: 'iex('\n  condition: sel\n"
    assert matches(detection, {"CommandLine": f"powershell -e {encoded}"})


def test_keywords_search_every_field() -> None:
    detection = "  keywords:\n    - 'mimikatz'\n  condition: keywords\n"
    assert matches(detection, {"Image": "x", "CommandLine": "run MIMIKATZ now"})
    assert not matches(detection, {"Image": "x"})


@pytest.mark.parametrize(
    ("condition", "event", "expected"),
    [
        ("sel1 and not filter", {"A": "1", "B": "2"}, True),
        ("sel1 and not filter", {"A": "1", "B": "2", "C": "3"}, False),
        ("1 of sel*", {"B": "2"}, True),
        ("all of sel*", {"A": "1"}, False),
        ("all of sel*", {"A": "1", "B": "2"}, True),
        ("all of them", {"A": "1", "B": "2", "C": "3"}, True),
        ("(sel1 or sel2) and not 1 of filter*", {"A": "1", "C": "3"}, False),
    ],
)
def test_conditions(condition: str, event: dict[str, object], expected: bool) -> None:
    detection = (
        "  sel1:\n    A: '1'\n  sel2:\n    B: '2'\n  filter:\n    C: '3'\n" + f"  condition: {condition}\n"
    )
    assert matches(detection, event) is expected


def test_rule_metadata_is_kept() -> None:
    compiled = load_text(rule("  sel:\n    A: 1\n  condition: sel\n"))
    assert (compiled.id, compiled.level, compiled.category) == (
        "11111111-1111-1111-1111-111111111111",
        "high",
        "process_creation",
    )


def test_placeholder_is_unsupported_with_reason() -> None:
    with pytest.raises(UnsupportedRule, match="placeholder"):
        load_text(rule("  sel:\n    User|expand: '%admins%'\n  condition: sel\n"))


def test_broken_rule_files_are_listed_not_dropped(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "good.yml").write_text(rule("  sel:\n    A: 1\n  condition: sel\n"))
    (folder / "bad.yml").write_text("title: x\ndetection:\n  condition: missing\n")
    (folder / "ugly.yml").write_text(": : :\n")
    ruleset = load_rules([folder])
    assert len(ruleset.rules) == 1
    assert sorted(Path(f.path).name for f in ruleset.failures) == ["bad.yml", "ugly.yml"]
    assert all(f.reason for f in ruleset.failures)
