"""A CCTV-integration agreement puts a partner's camera events on the command centre's live
feed while it is active, as it puts the cameras in the registry (`test_camera_agreement`):
not before, not after it ends, and never an unrelated agency's. The hub reads the grants
once per owner and again when an agreement changes, not once per event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from khusela.api.feed import CameraGrants, FeedHub, feed_hub
from khusela.bootstrap import Platform
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.cctv.events import CCTV_EVENT
from khusela.cctv.health import CAMERA_OFFLINE, camera_locality
from khusela.core.events import Event
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.partners import agreements
from khusela.partners.agreements import AGREEMENT_CHANGED, AgreementSpec
from khusela.partners.model import AgreementStatus, AgreementType, AreaKind
from tests.bus_helpers import eventually
from tests.conftest import People
from tests.integration.panic.test_feed import Feed, bearer, serving, staff_token
from tests.integration.partners.conftest import staff
from tests.panic_support import HILLBROW, PRETORIA_CENTRAL

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _where(municipality: str) -> Jurisdiction:
    return Jurisdiction(municipalities=frozenset({municipality}))


class Metros:
    """Johannesburg's command centre, Tshwane (its partner once agreed) and Ekurhuleni
    (never a partner), a camera of each, and Johannesburg's operator."""

    def __init__(self, platform: Platform) -> None:
        people = People(platform.db)
        self.db = platform.db
        self.city = people.agency("City of Johannesburg", AgencyType.MUNICIPALITY, _where("JHB"))
        self.tshwane = people.agency("Tshwane Metro Police", AgencyType.METRO_POLICE, _where("TSH"))
        self.ekurhuleni = people.agency("Ekurhuleni Metro Police", AgencyType.METRO_POLICE, _where("EKU"))
        self.thandi = people.user("thandi", Role.OPERATOR, agency_id=self.city)
        self.bongani = people.user("bongani", Role.RESPONDER, agency_id=self.city)
        self.own = _camera("Hillbrow Tower", self.city, "JHB", HILLBROW)
        self.partner = _camera("Church Square", self.tshwane, "TSH", PRETORIA_CENTRAL)
        self.unrelated = _camera("Kempton Park CBD", self.ekurhuleni, "EKU", (-26.1, 28.23))
        self.official = staff(self.city, Role.MUNICIPAL_OFFICIAL, name="mayoral-office")
        self.agreement_id: str | None = None

    def agree(self) -> None:
        """An active CCTV-integration agreement between Johannesburg and Tshwane."""
        now = datetime.now(UTC)
        spec = AgreementSpec(
            title="Gauteng metros CCTV sharing",
            type=AgreementType.COOPERATION,
            party_ids=(self.city, self.tshwane),
            status=AgreementStatus.ACTIVE,
            signed_on=now.date() - timedelta(days=30),
            province="GP",
        )
        with self.db.write() as conn:
            made = agreements.create(conn, self.official, spec, now)
            agreements.add_area(conn, self.official, made["id"], AreaKind.CCTV_INTEGRATION, "CCTV", "")
        self.agreement_id = str(made["id"])

    def end(self) -> None:
        assert self.agreement_id is not None
        with self.db.write() as conn:
            agreements.set_status(
                conn, self.official, self.agreement_id, AgreementStatus.TERMINATED, None, datetime.now(UTC)
            )


def _camera(name: str, owner: str, municipality: str, where: tuple[float, float]) -> dict[str, Any]:
    return {
        "id": f"cam-{name.lower().replace(' ', '-')}",
        "name": name,
        "owner_agency_id": owner,
        "province": "GP",
        "municipality": municipality,
        "cell": None,
        "lat": where[0],
        "lon": where[1],
    }


def _detection(camera: dict[str, Any], subject: str = CCTV_EVENT) -> Event:
    return Event(subject, {**camera_locality(camera), "kind": "start", "label": "person", "score": 0.9})


def _cameras_seen(feed: Feed) -> list[str]:
    return [str(m["data"]["camera_id"]) for m in feed.messages if m["event"].startswith("cctv.")]


async def test_a_partners_camera_events_reach_the_command_centre_only_while_agreed(
    platform: Platform,
) -> None:
    metros = Metros(platform)
    hub = feed_hub(platform)
    assert hub is not None
    partner, unrelated, own = metros.partner["id"], metros.unrelated["id"], metros.own["id"]

    async def round_of_events(number: int, *partner_subjects: str) -> None:
        """The partner's and the unrelated camera's events, then one of the operator's own
        camera: a connection gets events in order, so once that one is in, the rest were."""
        for subject in partner_subjects:
            await platform.bus.publish(_detection(metros.partner, subject))
        await platform.bus.publish(_detection(metros.unrelated))
        await platform.bus.publish(_detection(metros.own))
        assert await eventually(lambda: _cameras_seen(feed).count(own) == number), f"round {number}"

    async def committed(change: Any) -> None:
        """Commit an agreement change and wait until the hub has taken it in."""
        before = hub.camera_grants.generation
        await asyncio.to_thread(change)
        platform.relay.notify()
        assert await eventually(lambda: hub.camera_grants.generation > before), "agreement event"

    async with serving(platform) as client:
        feed = await Feed.open(client, bearer(await staff_token(client, metros.thandi)))
        try:
            await round_of_events(1, CCTV_EVENT)
            assert partner not in _cameras_seen(feed), "another municipality's camera, no agreement"

            await committed(metros.agree)
            await round_of_events(2, CCTV_EVENT, CAMERA_OFFLINE)
            after_agreeing = [m["event"] for m in feed.messages if m["data"].get("camera_id") == partner]
            assert after_agreeing == [CCTV_EVENT, CAMERA_OFFLINE]

            await committed(metros.end)
            await round_of_events(3, CCTV_EVENT)
        finally:
            await feed.close()

    assert _cameras_seen(feed).count(partner) == 2, "only while the agreement was active"
    assert unrelated not in _cameras_seen(feed)


async def test_grants_are_read_once_per_owner_and_again_when_an_agreement_changes(
    platform: Platform,
) -> None:
    metros = Metros(platform)
    hub = FeedHub(InProcessBus(), platform.db)
    clock = [0.0]
    hub.camera_grants = CameraGrants(platform.db, max_age=30.0, clock=lambda: clock[0])
    thandi = hub.connect(metros.thandi.principal)
    bongani = hub.connect(metros.bongani.principal)  # a responder: no CCTV_READ, agreement or not

    async def partner_event_reaches_thandi() -> bool:
        waiting = len(thandi.queue)
        await hub.deliver(_detection(metros.partner))
        return len(thandi.queue) > waiting

    assert not await partner_event_reaches_thandi()
    metros.agree()  # committed, but its event has not reached this hub yet
    assert not await partner_event_reaches_thandi(), "the grants read a moment ago still hold"
    await hub.deliver(Event(AGREEMENT_CHANGED, {"agreement_id": metros.agreement_id, "change": "created"}))
    assert await partner_event_reaches_thandi()

    metros.end()  # an end the hub hears nothing of (as when an end date passes)
    clock[0] += 29.0
    assert await partner_event_reaches_thandi()
    clock[0] += 2.0
    assert not await partner_event_reaches_thandi(), "read again once the grants are 30 s old"
    assert not bongani.queue
