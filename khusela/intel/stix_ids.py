"""Fixed STIX identifiers: the OASIS TLP 2.0 marking definitions and Khusela's own extension.

The TLP 2.0 ids and objects are published by OASIS (cti-stix-common-objects, extension
definition ``60a3c5c5-…``); they must be used verbatim or partners will not recognise them.
"""

from __future__ import annotations

import uuid
from typing import Any

import stix2

from khusela.intel.markings import Tlp

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
TLP2_MARKING_IDS: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_MARKING_IDS: dict[str, Tlp] = {
    stix2.TLP_WHITE.id: Tlp.CLEAR,
    stix2.TLP_GREEN.id: Tlp.GREEN,
    stix2.TLP_AMBER.id: Tlp.AMBER,
    stix2.TLP_RED.id: Tlp.RED,
}
"""Older partners still mark with TLP 1.0; read as the TLP 2.0 level FIRST maps them to."""

TLP_BY_MARKING_ID: dict[str, Tlp] = {v: k for k, v in TLP2_MARKING_IDS.items()} | TLP1_MARKING_IDS

NAMESPACE = uuid.UUID("5b0f6a53-7d0e-4c56-9d6c-6b1f0e3c2a71")
"""Namespace for deterministic ids (agencies, instances, locations, indicators): the same item
exported twice yields the same objects, so partners deduplicate without guessing."""

KHUSELA_IDENTITY_ID = f"identity--{uuid.uuid5(NAMESPACE, 'khusela')}"
EXTENSION_ID = "extension-definition--8d3c1f0e-2b7a-4d4e-9a51-3f6c0b9e7d12"
EXTENSION_CREATED = "2026-01-01T00:00:00.000Z"


def tlp_marking(tlp: Tlp) -> Any:
    """The OASIS marking-definition object for a TLP 2.0 level."""
    return stix2.v21.MarkingDefinition(
        id=TLP2_MARKING_IDS[tlp],
        created=TLP2_CREATED,
        name=tlp.label,
        extensions={TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": tlp.code}},
    )


def stix_id(kind: str, key: str) -> str:
    """A deterministic id for an object derived from Khusela data (``kind--uuid5``)."""
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{kind}:{key}')}"
