"""Two instances, two databases (SQLite or PostgreSQL for Gauteng, SQLite for KwaZulu-Natal),
exchanging items over HTTP between two in-process apps, signed with Ed25519 instance keys."""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.settings import Settings
from khusela.identity.model import AgencyType, Clearance, Jurisdiction, Role
from khusela.intel import rows, store, sync
from khusela.intel.markings import Tlp
from khusela.intel.signing import public_key_pem
from khusela.intel.tables import intel_disseminations
from khusela.store.database import Database
from tests.conftest import People
from tests.integration.intel.conftest import item_body, staff

GP, KZN = "gauteng", "kwazulu-natal"


@dataclass
class Instance:
    name: str
    platform: Platform
    client: TestClient
    analyst: dict[str, str]

    def submit(self, **changes: Any) -> dict[str, Any]:
        response = self.client.post("/api/intel/items", json=item_body(**changes), headers=self.analyst)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def seen(self) -> dict[str, dict[str, Any]]:
        response = self.client.get("/api/intel/items", params={"limit": 200}, headers=self.analyst)
        assert response.status_code == 200, response.text
        return {i["id"]: i for i in response.json()}

    def pull_from(self, other: Instance) -> sync.Applied:
        return sync.pull(self.platform.db, self.platform.settings.data_dir, other.name, other.client)

    def push_to(self, other: Instance) -> int:
        return sync.push(self.platform.db, self.platform.settings.data_dir, other.name, other.client)


def _instance(name: str, db: Database, data_dir: Path) -> Generator[Instance, None, None]:
    settings = Settings(environment="test", data_dir=data_dir, rate_limit_per_minute=100_000)
    platform = bootstrap(settings, db=db, bus=InProcessBus())
    people = People(db)
    agency = people.agency(f"SAPS Crime Intelligence {name}", AgencyType.SAPS_STATION, Jurisdiction())
    _, token = staff(platform, f"analyst-{name}", Role.INTEL_ANALYST, agency, Clearance.SECRET)
    with db.write() as conn:
        sync.set_instance(conn, name)
    with TestClient(create_app(platform)) as client:
        yield Instance(name, platform, client, {"Authorization": f"Bearer {token}"})


@pytest.fixture
def pair(database: Database, tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Instance, Instance]]:
    path = tmp_path / "kzn.db"
    shutil.copy(sqlite_template, path)
    kzn_db = Database(f"sqlite:///{path}")
    gp_gen, kzn_gen = _instance(GP, database, tmp_path / "gp"), _instance(KZN, kzn_db, tmp_path / "kzn")
    gp, kzn = next(gp_gen), next(kzn_gen)
    now = datetime.now(UTC)
    for me, other in ((gp, kzn), (kzn, gp)):
        pem = public_key_pem(sync.instance_key(other.platform.settings.data_dir).public_key())
        with me.platform.db.write() as conn:
            sync.add_partner(conn, other.name, pem, None, now)
    yield gp, kzn
    for gen in (gp_gen, kzn_gen):
        gen.close()
    kzn_db.dispose()


def _force(inst: Instance, tlp: Tlp, **changes: Any) -> str:
    """An item whose distribution names the partner whatever its TLP (the API refuses that),
    to prove the sync layer keeps AMBER+STRICT and RED home on its own."""
    created = inst.submit(
        tlp="AMBER", distribution={"instances": [KZN]}, share_reason="exchange with KZN", **changes
    )
    with inst.platform.db.write() as conn:
        held = rows.fetch(conn, created["id"])
        assert held is not None
        item = replace(held.item, marking=replace(held.item.marking, tlp=tlp))
        store.save_item(conn, replace(held, item=item), store.next_seq(conn))
    return str(created["id"])


def test_two_instances_exchange_only_what_may_leave(pair: tuple[Instance, Instance]) -> None:
    gp, kzn = pair
    share = {"distribution": {"instances": [KZN]}, "share_reason": "cross-border syndicate"}
    amber = gp.submit(tlp="AMBER", **share)
    green = gp.submit(tlp="GREEN", classification="restricted", **share)
    humint = gp.submit(tlp="AMBER", human_source=True, source_ref="SRC-GP-0042", **share)
    local_only = gp.submit(tlp="AMBER")
    nofed = gp.submit(tlp="AMBER", caveats=["NOFED"], **share)
    strict = _force(gp, Tlp.AMBER_STRICT)
    red = _force(gp, Tlp.RED)

    applied = kzn.pull_from(gp)
    assert applied.inserted == 3
    seen = kzn.seen()
    assert set(seen) == {amber["id"], green["id"], humint["id"]}
    for never in (local_only["id"], nofed["id"], strict, red):
        assert never not in seen
    copy = seen[humint["id"]]
    assert copy["sanitised"] is True
    assert copy["source_ref"] is None
    assert copy["author_id"] is None
    assert copy["origin_instance"] == GP
    assert copy["received_from"] == GP
    assert copy["tlp"] == "TLP:AMBER"

    assert kzn.pull_from(gp) == sync.Applied()  # nothing new: idempotent

    with gp.platform.db.read() as conn:
        left = conn.execute(
            select(intel_disseminations.c.item_id).where(
                intel_disseminations.c.channel == "federation", intel_disseminations.c.recipient == KZN
            )
        ).scalars()
        assert set(left) == {amber["id"], green["id"], humint["id"]}


def test_updates_and_revocations_propagate_and_nothing_loops(pair: tuple[Instance, Instance]) -> None:
    gp, kzn = pair
    share = {"distribution": {"instances": [KZN]}, "share_reason": "cross-border syndicate"}
    item = gp.submit(tlp="AMBER", **share)
    doomed = gp.submit(tlp="GREEN", classification="restricted", **share)
    kzn.pull_from(gp)

    revised = gp.client.post(
        f"/api/intel/items/{item['id']}/revisions",
        json={"body": "The buyer now uses a silver Hilux.", "reason": "new vehicle seen on Friday"},
        headers=gp.analyst,
    )
    assert revised.status_code == 200, revised.text
    revoked = gp.client.post(
        f"/api/intel/items/{doomed['id']}/revoke",
        json={"reason": "source retracted the report"},
        headers=gp.analyst,
    )
    assert revoked.status_code == 204
    applied = kzn.pull_from(gp)
    assert (applied.updated, applied.deleted) == (1, 1)
    seen = kzn.seen()
    assert seen[item["id"]]["version"] == 2
    assert "silver Hilux" in seen[item["id"]]["body"]
    assert doomed["id"] not in seen

    back = kzn.submit(
        tlp="GREEN", classification="restricted", distribution={"instances": [GP]}, share_reason="reply to GP"
    )
    assert kzn.push_to(gp) == 1
    assert back["id"] in gp.seen()
    assert gp.seen()[back["id"]]["received_from"] == KZN
    assert kzn.push_to(gp) == 0
    # Gauteng's copy of KwaZulu-Natal's item never goes back, and Gauteng's items are not re-sent.
    assert kzn.pull_from(gp).inserted == 0


def test_forged_or_misaddressed_envelopes_are_refused(pair: tuple[Instance, Instance]) -> None:
    gp, kzn = pair
    gp.submit(tlp="AMBER", distribution={"instances": [KZN]}, share_reason="cross-border syndicate")
    unsigned = gp.client.get(sync.CHANGES_PATH, params={"since": 0})
    assert unsigned.status_code == 401
    key = sync.instance_key(kzn.platform.settings.data_dir)
    headers = sync.request_headers(key, KZN, "GET", sync.CHANGES_PATH, "since=0")
    envelope = gp.client.get(sync.CHANGES_PATH, params={"since": 0}, headers=headers).json()
    assert len(envelope["records"]) == 1
    tampered = {**envelope, "records": [{**envelope["records"][0], "title": "Planted"}]}
    refused = kzn.client.post(sync.ENVELOPES_PATH, json=tampered)
    assert refused.status_code == 422
    assert "signature" in refused.json()["detail"]
    misaddressed = gp.client.post(sync.ENVELOPES_PATH, json=envelope)  # GP is not its target
    assert misaddressed.status_code == 422
    accepted = kzn.client.post(sync.ENVELOPES_PATH, json=envelope)
    assert accepted.status_code == 200
    assert accepted.json()["inserted"] == 1
