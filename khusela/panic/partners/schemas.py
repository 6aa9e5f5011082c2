"""The partner link's API schemas, one family per direction."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from khusela.api.schemas import Incoming, Outgoing


class PartnerLinkIn(Incoming):
    url: str = Field(min_length=8, max_length=500, description="The partner's webhook (https in production)")
    secret: str | None = Field(
        None,
        min_length=32,
        max_length=200,
        description="Shared HMAC secret; leave out to have one generated (shown once, in the answer)",
    )
    active: bool = True


class PartnerLinkOut(Outgoing):
    agency_id: str
    agency_name: str
    url: str
    active: bool


class PartnerLinkCreated(PartnerLinkOut):
    secret: str = Field(description="Give this to the partner; it is not shown again")


class OfferIn(Incoming):
    agency_id: str = Field(min_length=1, max_length=36)


class OfferOut(Outgoing):
    alert_id: str
    agency_id: str
    status: str


class PartnerUpdateIn(Incoming):
    """A report from a partner's control room (the body it signs)."""

    alert_id: str = Field(min_length=1, max_length=36)
    status: Literal["accepted", "rejected", "dispatched", "on_scene", "closed"]
    unit_ref: str | None = Field(None, max_length=80, description="The partner's own name for its unit")
    eta_seconds: int | None = Field(None, ge=0, le=24 * 3600)
    outcome: Literal["attended", "false_alarm", "no_contact", "referred"] | None = None
    reason: str | None = Field(None, max_length=200, description="Why, for a rejection")
    at: AwareDatetime = Field(description="When it happened, by the partner's clock")


class PartnerUpdateOut(Outgoing):
    alert_id: str
    status: str
    alert_status: str
