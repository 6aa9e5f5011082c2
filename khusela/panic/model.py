"""Response units as dispatch sees them. Plain data, no I/O."""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    POLICE_VEHICLE = "police_vehicle"
    METRO_POLICE_VEHICLE = "metro_police_vehicle"
    AMBULANCE = "ambulance"
    FIRE_ENGINE = "fire_engine"
    SECURITY_VEHICLE = "security_vehicle"
    FOOT_PATROL = "foot_patrol"


class UnitStatus(StrEnum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"
