"""The router's literal prefilter only skips rules that cannot fire; field names match in any case;
Security 4688 is a process creation."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from khusela.cyber.sigma import Router, load_text

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def rule(detection: str, source: str = "category: process_creation") -> str:
    return f"title: t\nlogsource: {{product: windows, {source}}}\ndetection:\n{detection}"


RULES = [
    rule("  sel:\n    Image|endswith: '\\certutil.exe'\n  condition: sel"),
    rule("  sel:\n    CommandLine|contains: ['-urlcache', 'decode']\n  condition: sel"),
    rule(
        "  sel:\n    CommandLine|startswith: 'cmd /c'\n"
        "  filter:\n    User: 'SYSTEM'\n  condition: sel and not filter"
    ),
    rule("  sel:\n    Image|endswith: '.tmp'\n  condition: not sel"),
    rule("  sel:\n    IntegrityLevel: 'High'\n    CommandLine|re: 'a.c'\n  condition: sel"),
    rule("  keywords:\n    - 'mimikatz'\n    - 'sekurlsa::'\n  condition: keywords", "service: sysmon"),
    rule(
        "  sel:\n    EventID: 4688\n    NewProcessName|endswith: '\\whoami.exe'\n  condition: sel",
        "service: security",
    ),
    rule("  sel:\n    EventID: 4624\n    LogonType: 10\n  condition: sel", "service: security"),
    rule("  sel:\n    Image|contains|all: ['\\temp\\', 'x']\n  condition: sel"),
]

VALUES: dict[str, list[object]] = {
    "Image": ["C:\\Windows\\certutil.exe", "C:\\TEMP\\x.tmp", "C:\\a\\CertUtil.EXE", "c:\\temp\\ax.exe"],
    "CommandLine": ["cmd /c whoami", "CMD /C dir", "certutil -URLcache -f", "abc", "run mimikatz now", ""],
    "User": ["SYSTEM", "alice"],
    "IntegrityLevel": ["High", "high", "Low"],
    "LogonType": [10, "10", 3],
    "NewProcessName": ["C:\\Windows\\System32\\whoami.exe", "C:\\x.exe"],
}
CHANNELS = [(SYSMON, 1), ("Security", 4688), ("Security", 4624), ("security", 4624)]
LOADED = [load_text(text, f"r{i}") for i, text in enumerate(RULES)]


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(CHANNELS),
    picks=st.fixed_dictionaries({k: st.one_of(st.none(), st.sampled_from(v)) for k, v in VALUES.items()}),
)
def test_prefilter_never_changes_what_fires(channel: tuple[str, int], picks: dict[str, object]) -> None:
    router = Router(LOADED)
    event: dict[str, object] = {"Channel": channel[0], "EventID": channel[1]}
    event.update({k: v for k, v in picks.items() if v is not None})
    fired = router.detect(event)  # may add 4688 aliases, so compare on the same event afterwards
    expected = [r for r in router.rules_for(event) if r.matcher(event)]
    assert fired == expected


def test_router_skips_most_rules_for_an_unrelated_event() -> None:
    rules = [
        load_text(rule(f"  sel:\n    Image|endswith: '\\tool{i}.exe'\n  condition: sel")) for i in range(200)
    ]
    router = Router(rules)
    bucket = router.bucket({"Channel": SYSMON, "EventID": 1})
    assert not bucket.always  # every rule is anchored on its image name
    assert router.detect({"Channel": SYSMON, "EventID": 1, "Image": "C:\\x\\TOOL7.EXE"}) == [rules[7]]


def test_field_names_match_in_any_case() -> None:
    lower = load_text(rule("  sel:\n    commandline|contains: 'urlcache'\n  condition: sel"))
    router = Router([lower])
    assert router.detect({"Channel": SYSMON, "EventID": 1, "CommandLine": "certutil -urlcache"}) == [lower]


def test_security_4688_is_a_process_creation_with_sysmon_names() -> None:
    image = load_text(
        rule("  sel:\n    Image|endswith: '\\whoami.exe'\n    User|contains: 'AUTHORI'\n  condition: sel")
    )
    event: dict[str, object] = {
        "Channel": "Security",
        "EventID": 4688,
        "NewProcessName": "C:\\Windows\\System32\\whoami.exe",
        "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        "SubjectUserName": "SYSTEM",
        "SubjectDomainName": "NT AUTHORITY",
        "MandatoryLabel": "S-1-16-16384",
    }
    assert Router([image]).detect(event) == [image]
    assert event["ParentImage"] == "C:\\Windows\\System32\\cmd.exe"
    assert event["IntegrityLevel"] == "System"


def test_rules_in_a_bucket_come_back_in_load_order() -> None:
    texts = [rule(f"  sel:\n    CommandLine|contains: '{w}'\n  condition: sel") for w in ("b", "a", "ab")]
    rules = [load_text(t, str(i)) for i, t in enumerate(texts)]
    for order in itertools.permutations(rules):
        fired = Router(order).detect({"Channel": SYSMON, "EventID": 1, "CommandLine": "xaby"})
        assert fired == list(order)
