"""Every intel read path against the policy function, for one caller over a stored population.

Used by the property test (a few hundred random callers) and by `bench/intel.py` (10,000
caller-item pairs). A *leak* is an item a read path returns that `access.can_read` refuses; a
*miss* is the reverse. Paths: the list query, full-text search, the entity page (items and
links), STIX export selection, the live-feed audience, and federation selection per partner.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, insert

from khusela.api.feed import AUDIENCES
from khusela.core.errors import NotFound
from khusela.core.events import Event
from khusela.identity.model import Clearance, Principal, Role
from khusela.identity.policy import Action, scope_of
from khusela.identity.tables import sharing_groups
from khusela.intel import access, entities, exchange, reads, store, sync
from khusela.intel.federation import refusal, select_for_partner
from khusela.intel.grading import Grade
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import Category, Entity, EntityKind, IntelItem, Locality, Originator
from khusela.intel.rows import Audience, StoredItem
from khusela.intel.tables import intel_entity_links, intel_item_links, intel_items

AGENCIES = ["ag-ssa", "ag-saps", "ag-metro", "ag-cpf"]
USERS = ["u-1", "u-2", "u-3", "u-4", "u-5"]
GROUPS = ["g-mining", "g-forum"]
PARTNERS = ["kwazulu-natal", "western-cape"]
WORD = "syndicate"
OWNER_AGENCY = "ag-ssa"
ROLES = [Role.INTEL_ANALYST, Role.COMMUNITY_PARTNER, Role.MUNICIPAL_OFFICIAL, Role.OPERATOR]


@dataclass
class Population:
    items: list[StoredItem]
    entity_id: str
    now: datetime
    by_id: dict[str, StoredItem] = field(default_factory=dict)


def random_item(rng: random.Random, now: datetime, n: int) -> tuple[IntelItem, Audience, str]:
    tlp = rng.choice(list(Tlp))
    caveats = frozenset(rng.sample(["LEO", "NOFED", "POPIA"], rng.randint(0, 2)))
    received = rng.random() < 0.25
    created = now - timedelta(days=rng.randint(1, 400))
    item = IntelItem(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        version=1,
        title=f"Item {n}: {WORD} activity",
        body=f"Report {n} about a {WORD} near the shaft.",
        category=rng.choice(list(Category)),
        originator=Originator(
            PARTNERS[0] if received else "gauteng", rng.choice(AGENCIES), rng.choice([*USERS, None])
        ),
        marking=Marking(tlp, rng.choice(list(Clearance)), caveats),
        created_at=created,
        updated_at=created,
        grade=Grade.parse(rng.choice(["B2 P", "A1 C", "F6 P"])),
        locality=Locality("GP", rng.choice(["JHB", "TSH"])),
        distribution=frozenset(rng.sample(PARTNERS, rng.randint(0, 2))),
        review_at=now + timedelta(days=rng.choice([-200, -10, 30, 900, 900, 900])),
        human_source=rng.random() < 0.2,
        source_ref="SRC-1" if rng.random() < 0.2 else None,
        received_from=PARTNERS[0] if received else None,
    )
    audience = Audience(
        frozenset(rng.sample(AGENCIES, rng.randint(0, 2))),
        frozenset(rng.sample(USERS, rng.randint(0, 2))),
        frozenset(rng.sample(GROUPS, rng.randint(0, 2))),
    )
    status = rng.choices(["active", "revoked", "purged"], [8, 1, 1])[0]
    return item, audience, status


def populate(conn: Connection, count: int, seed: int = 7) -> Population:
    """`count` random items, two sharing groups, and an entity every item mentions and links."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    conn.execute(
        insert(sharing_groups), [{"id": g, "name": g, "description": "", "created_at": now} for g in GROUPS]
    )
    made = []
    for n in range(count):
        item, audience, status = random_item(rng, now, n)
        made.append(store.insert_item(conn, item, audience, n + 1, status=status))
    person = Entity(uuid.uuid4(), EntityKind.ORGANISATION, "Riverlea syndicate", Marking(Tlp.AMBER))
    other = Entity(uuid.uuid4(), EntityKind.LOCATION, "Riverlea shaft", Marking(Tlp.AMBER))
    actor = Principal("u-1", "seed", frozenset({Role.INTEL_ANALYST}), Clearance.TOP_SECRET, OWNER_AGENCY)
    entities.create(conn, actor, person, now)
    entities.create(conn, actor, other, now)
    conn.execute(
        insert(intel_item_links),
        [
            {
                "id": str(uuid.uuid4()),
                "entity_id": str(person.id),
                "item_id": str(s.item.id),
                "relation": "mentions",
                "asserted_by": str(s.item.id),
            }
            for s in made
        ],
    )
    conn.execute(
        insert(intel_entity_links),
        [
            {
                "id": str(uuid.uuid4()),
                "source_id": str(person.id),
                "target_id": str(other.id),
                "relation": "operates_at",
                "asserted_by": str(s.item.id),
            }
            for s in made
        ],
    )
    pop = Population(made, str(person.id), now)
    pop.by_id = {str(s.item.id): s for s in made}
    return pop


def random_principal(rng: random.Random) -> Principal:
    return Principal(
        user_id=rng.choice(USERS),
        username="probe",
        roles=frozenset(rng.sample(ROLES, rng.randint(1, 2))),
        clearance=rng.choice(list(Clearance)),
        agency_id=rng.choice([*AGENCIES, None]),
        sharing_groups=frozenset(rng.sample(GROUPS, rng.randint(0, 2))),
    )


@dataclass
class Disagreement:
    path: str
    leaks: set[str]
    misses: set[str]


def check(
    conn: Connection, pop: Population, principal: Principal, *, export: bool = True
) -> list[Disagreement]:
    """Compare every read path with `can_read` for `principal`; an empty list is agreement."""
    now = pop.now
    expected = {i for i, s in pop.by_id.items() if access.can_read(principal, s.shareable(), now)}
    found: dict[str, set[str]] = {}
    listed = reads.visible_query(principal, now).with_only_columns(intel_items.c.id)
    found["list"] = set(conn.execute(listed).scalars())
    if scope_of(principal, Action.INTEL_READ) is not None:
        query = reads.search_query(conn, principal, WORD, now, reads.MAX_PAGE)
        found["search"] = {str(i) for i in conn.execute(query.limit(None)).scalars()}
    else:
        found["search"] = set()
    try:
        page = entities.page(conn, principal, pop.entity_id, now)
        found["entity items"] = {i for i, _, _ in page.items}
        found["entity links"] = {n.asserted_by for n in page.neighbours}
    except NotFound:
        found["entity items"] = found["entity links"] = set()
    if export:
        bundle = exchange.export_stix(conn, principal, "agreement check", now, limit=exchange.MAX_EXPORT)
        found["export"] = {o["id"].split("--", 1)[1] for o in bundle["objects"] if o["type"] == "report"}
    feed = set()
    for item_id, stored in pop.by_id.items():
        payload = store.access_payload(stored)
        if stored.status != "active":
            continue
        audience = AUDIENCES["intel.item_submitted"](Event("intel.item_submitted", payload, occurred_at=now))
        if audience(principal) is not None:
            feed.add(item_id)
    found["feed"] = feed
    # Every item is mentioned by the entity and asserts one of its links, so each path must
    # return exactly the items the policy allows.
    return [
        Disagreement(path, got - expected, expected - got) for path, got in found.items() if got != expected
    ]


def check_federation(conn: Connection, pop: Population) -> list[Disagreement]:
    """The sync selection per partner against `federation.refusal` on each item."""
    out = []
    for partner in PARTNERS:
        records, _ = sync.changes_for(conn, partner, 0, pop.now, limit=100_000)
        got = {str(r.id) for r in records}
        active = [s.item for s in pop.items if s.status == "active"]
        expected = {str(r.id) for r in select_for_partner(active, partner, pop.now)}
        retired = {
            str(s.item.id)
            for s in pop.items
            if s.status != "active" and refusal(sync.tombstone_of(s, pop.now, "x"), partner) is None
        }
        expected |= retired
        if got != expected:
            out.append(Disagreement(f"federation:{partner}", got - expected, expected - got))
    return out
