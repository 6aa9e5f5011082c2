"""Panic routes for the channels without the app: USSD and SMS gateway callbacks, and the
register of panic devices.

Gateways authenticate with a shared secret in `X-Khusela-Gateway-Key`, compared with the
`KHUSELA_GATEWAY_KEY` environment variable. Unset, the callbacks are open in development,
demo and test (so a laptop can be driven with curl), and refused in production: a
production server must never accept forged distress calls, nor silently lose real ones
for want of a key, so it answers 503 until the key is set.

A distress call is confirmed to the caller only after the alert is committed; a bad or
missing location never refuses it. Gateways retry: the USSD session id and the SMS
message id make a retry find the alert it already raised.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Incoming, Outgoing
from khusela.core.errors import AuthenticationFailed, ServiceUnavailable
from khusela.core.ids import new_id
from khusela.core.settings import Environment
from khusela.identity.model import Principal
from khusela.panic import devices
from khusela.panic.channels import identify, press_id, raise_from_phone, reference, sms, ussd
from khusela.panic.model import Channel

router = APIRouter(prefix="/api/panic", tags=["panic"])
Admin = Annotated[Principal, Depends(require(devices.MANAGE))]
_PHONE = r"^\+?[0-9][0-9 ()-]{2,31}$"


class GatewaySettings(BaseSettings):
    """The channel gateways' own setting, read from the environment on each call."""

    model_config = SettingsConfigDict(env_prefix="KHUSELA_", extra="ignore")

    gateway_key: SecretStr | None = Field(
        None,
        description="Shared secret the USSD/SMS gateways send in X-Khusela-Gateway-Key; "
        "required in production.",
    )


async def gateway(
    platform: PlatformDep, key: Annotated[str | None, Header(alias="X-Khusela-Gateway-Key")] = None
) -> None:
    """Let through only the configured gateways (anyone, outside production, when no key is set)."""
    expected = GatewaySettings().gateway_key
    if expected is None:
        if platform.settings.environment is Environment.PRODUCTION:
            raise ServiceUnavailable("the channel gateways are not configured (KHUSELA_GATEWAY_KEY)")
        return
    if key is None or not hmac.compare_digest(key.encode(), expected.get_secret_value().encode()):
        raise AuthenticationFailed("unknown gateway: send X-Khusela-Gateway-Key")


class UssdIn(BaseModel):
    """A USSD gateway callback (form fields). Extra fields gateways add are ignored."""

    model_config = ConfigDict(extra="ignore")

    sessionId: str = Field(min_length=1, max_length=200)  # noqa: N815 - the gateway's field name
    serviceCode: str = Field("", max_length=40)  # noqa: N815
    phoneNumber: str = Field(pattern=_PHONE)  # noqa: N815
    text: str = Field("", max_length=1000)


@router.post(
    "/channels/ussd",
    response_class=PlainTextResponse,
    dependencies=[Depends(gateway)],
    summary="USSD gateway callback: answers `CON …` (next screen) or `END …`",
    responses={200: {"content": {"text/plain": {"example": "CON Khusela emergency. Reply with:\n1 Crime"}}}},
)
def ussd_callback(form: Annotated[UssdIn, Form()], platform: PlatformDep) -> PlainTextResponse:
    current = ussd.step(form.text)
    if current.type is None:
        return PlainTextResponse(ussd.screen(current))
    with platform.db.write() as conn:
        caller = identify(conn, form.phoneNumber, platform.settings.secret_key)
        intake = raise_from_phone(
            conn,
            caller,
            type=current.type,
            channel=Channel.USSD,
            client_alert_id=press_id(Channel.USSD, form.sessionId),
            location_text=current.location_text,
            gazetteer=platform.gazetteer,
        )
    platform.relay.notify()
    alert = intake.alert
    known = not alert["location_unknown"] or bool(alert["location_text"])
    return PlainTextResponse(ussd.screen(current, reference(alert["id"]), location_known=known))


class SmsIn(BaseModel):
    """An inbound SMS, as form fields or JSON. Extra fields gateways add are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    sender: str = Field(alias="from", pattern=_PHONE)
    text: str = Field("", max_length=2000)
    id: str | None = Field(None, min_length=1, max_length=200, description="Gateway message id")


class SmsReply(Outgoing):
    reply: str = Field(description="The text to send back to the caller")
    reference: str | None = Field(None, description="The alert's reference, when one was raised")


async def sms_message(request: Request) -> SmsIn:
    """The message from form fields (what gateways post) or a JSON object."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            return SmsIn.model_validate_json(await request.body())
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            async with request.form() as form:
                fields = {k: v for k, v in form.items() if isinstance(v, str)}
            return SmsIn.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None
    raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send form fields or a JSON object")


_SMS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": SmsIn.model_json_schema(by_alias=True)}
            for media in ("application/x-www-form-urlencoded", "application/json")
        },
    }
}


@router.post(
    "/channels/sms",
    response_model=SmsReply,
    dependencies=[Depends(gateway)],
    summary="Inbound SMS webhook: `HELP <where you are>` raises an alert",
    openapi_extra=_SMS_BODY,
)
def sms_callback(message: Annotated[SmsIn, Depends(sms_message)], platform: PlatformDep) -> SmsReply:
    request = sms.parse(message.text)
    if request is None:
        return SmsReply(reply=sms.USAGE)
    with platform.db.write() as conn:
        caller = identify(conn, message.sender, platform.settings.secret_key)
        intake = raise_from_phone(
            conn,
            caller,
            type=request.type,
            channel=Channel.SMS,
            client_alert_id=press_id(Channel.SMS, message.id or new_id()),
            location_text=request.location_text,
            gazetteer=platform.gazetteer,
        )
    platform.relay.notify()
    alert = intake.alert
    ref = reference(alert["id"])
    known = not alert["location_unknown"] or bool(alert["location_text"])
    return SmsReply(reply=sms.confirmation(ref, location_known=known), reference=ref)


class DeviceCreate(Incoming):
    id: str = Field(pattern=devices.DEVICE_ID.pattern, description="The device's id, as in its MQTT topic")
    owner_user_id: str | None = Field(None, max_length=36, description="The resident who carries it")
    site_name: str | None = Field(None, max_length=200, description="Where it is mounted")
    site_lat: float | None = None
    site_lon: float | None = None


class DevicePublic(Outgoing):
    id: str
    owner_user_id: str | None
    site_name: str | None
    site_lat: float | None
    site_lon: float | None
    registered_at: datetime
    last_seen_at: datetime | None
    battery: float | None


@router.post(
    "/devices",
    response_model=DevicePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a panic device to a resident or a site",
)
def register_device(body: DeviceCreate, admin: Admin, platform: PlatformDep) -> DevicePublic:
    with platform.db.write() as conn:
        device = devices.register_device(
            conn,
            admin,
            device_id=body.id,
            owner_user_id=body.owner_user_id,
            site_name=body.site_name,
            site_lat=body.site_lat,
            site_lon=body.site_lon,
        )
    return DevicePublic.model_validate(device)


@router.get("/devices", response_model=list[DevicePublic], summary="Registered panic devices")
def list_devices(admin: Admin, platform: PlatformDep) -> list[DevicePublic]:
    with platform.db.write() as conn:  # write: the read is audited
        found = devices.list_devices(conn, admin)
    return [DevicePublic.model_validate(d) for d in found]
