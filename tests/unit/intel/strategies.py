"""Hypothesis strategies for random but valid intel items and markings."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from khusela.identity.model import Clearance
from khusela.intel.grading import Credibility, Grade, HandlingCode, Reliability
from khusela.intel.markings import Caveat, Marking, Tlp
from khusela.intel.model import (
    Attachment,
    Category,
    IntelItem,
    Locality,
    Observable,
    ObservableKind,
    Originator,
    TimeWindow,
)
from khusela.intel.sanitise import sanitise

UPPER = string.ascii_uppercase + string.digits
LOWER = string.ascii_lowercase
INSTANCES = ("gauteng", "kwazulu-natal", "western-cape", "limpopo")
CELLS = ("87bcc352cffffff", "85bc1ac7fffffff", "8a2a1072b59ffff")
names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip() != "")
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
caveats = st.frozensets(
    st.sampled_from([c.value for c in Caveat])
    | st.text(UPPER, min_size=2, max_size=8).map(lambda s: f"X-{s}"),
    max_size=3,
)
markings = st.builds(Marking, st.sampled_from(Tlp), st.sampled_from(Clearance), caveats)
grades = st.builds(
    Grade, st.sampled_from(Reliability), st.sampled_from(Credibility), st.sampled_from(HandlingCode)
)
observables = st.one_of(
    st.builds(Observable, st.just(ObservableKind.IPV4), st.ip_addresses(v=4).map(str)),
    st.builds(
        Observable,
        st.just(ObservableKind.PHONE),
        st.integers(600_000_000, 899_999_999).map(lambda n: f"+27{n}"),
    ),
    st.builds(
        Observable,
        st.just(ObservableKind.DOMAIN),
        st.text(LOWER, min_size=1, max_size=10).map(lambda s: f"{s}.co.za"),
    ),
    st.builds(
        Observable,
        st.just(ObservableKind.EMAIL),
        st.text(LOWER + "'", min_size=1, max_size=8).map(lambda s: f"{s}@saps.za"),
    ),
)
attachments = st.builds(
    Attachment,
    names,
    st.binary(min_size=32, max_size=32).map(bytes.hex),
    st.integers(0, 10**9),
    st.booleans(),
)
localities = st.builds(
    Locality,
    st.none() | st.sampled_from(["GP", "KZN", "WC"]),
    st.none() | names,
    st.none() | names,
    st.lists(st.sampled_from(CELLS), max_size=2, unique=True).map(tuple),
)


@st.composite
def items(draw: st.DrawFn) -> IntelItem:
    created = draw(moments)
    updated = created + draw(st.timedeltas(timedelta(0), timedelta(days=400)))
    start = draw(moments)
    window = draw(
        st.none() | st.builds(TimeWindow, st.just(start), st.none() | st.just(start + timedelta(hours=5)))
    )
    human = draw(st.booleans())
    item = IntelItem(
        id=draw(st.uuids(version=4)),
        version=draw(st.integers(1, 50)),
        title=draw(names),
        body=draw(st.text(max_size=80)),
        category=draw(st.sampled_from(Category)),
        originator=Originator(draw(st.sampled_from(INSTANCES)), draw(names), draw(st.none() | names)),
        marking=draw(markings),
        created_at=created,
        updated_at=updated,
        grade=draw(st.none() | grades),
        locality=draw(localities),
        window=window,
        sharing_groups=draw(st.frozensets(names, max_size=2)),
        distribution=draw(st.frozensets(st.sampled_from(INSTANCES), max_size=4)),
        review_at=draw(st.none() | moments),
        human_source=human,
        source_ref=draw(st.none() | names) if human else None,
        attachments=tuple(draw(st.lists(attachments, max_size=2))),
        observables=tuple(draw(st.lists(observables, max_size=2, unique=True))),
        received_from=draw(st.none() | st.sampled_from(INSTANCES)),
    )
    return sanitise(item) if draw(st.booleans()) else item
