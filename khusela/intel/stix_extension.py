"""Khusela's STIX 2.1 property extension: what STIX has no property for (classification,
caveats, grading, handling, review date, originator instance, version, sharing) travels here.

Partners that do not know the extension still read the standard objects; partners that do can
rebuild an item exactly. The schema is published in the extension-definition object itself.
"""

from __future__ import annotations

import json
from typing import Any

import stix2

from khusela.intel.stix_ids import EXTENSION_CREATED, EXTENSION_ID, KHUSELA_IDENTITY_ID

_MARKING = {
    "classification": {"enum": ["unclassified", "restricted", "confidential", "secret", "top_secret"]},
    "caveats": {
        "type": "array",
        "items": {"type": "string", "pattern": "^([A-Z]+|X-[A-Z0-9][A-Z0-9_]{1,23})$"},
    },
}
_ITEM = {
    "object_kind": {"enum": ["item", "tombstone", "entity", "entity_link", "item_link"]},
    "version": {"type": "integer", "minimum": 1, "description": "item version; higher wins"},
    "origin_instance": {"type": "string", "description": "the provincial instance that wrote it"},
    "origin_agency": {"type": "string"},
    "author": {"type": "string", "description": "absent once sanitised"},
    "received_from": {"type": "string", "description": "the instance this copy came from"},
    "category": {"type": "string"},
    "source_reliability": {"enum": list("ABCDEF")},
    "information_credibility": {"type": "integer", "minimum": 1, "maximum": 6},
    "handling": {"enum": ["P", "C"], "description": "3x5x2: P lawful sharing permitted, C conditions"},
    "review_at": {"type": "string", "format": "date-time"},
    "window_start": {"type": "string", "format": "date-time"},
    "window_end": {"type": "string", "format": "date-time"},
    "province": {"type": "string"},
    "municipality": {"type": "string"},
    "ward": {"type": "string"},
    "cells": {"type": "array", "items": {"type": "string", "description": "H3 cell index"}},
    "sharing_groups": {"type": "array", "items": {"type": "string"}},
    "distribution": {"type": "array", "items": {"type": "string"}, "description": "partner instances"},
    "human_source": {"type": "boolean"},
    "sanitised": {"type": "boolean"},
    "sanitised_note": {"type": "string"},
    "attachments": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "sha256", "size"],
            "properties": {
                "name": {"type": "string"},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "size": {"type": "integer", "minimum": 0},
                "releasable": {"type": "boolean"},
            },
        },
    },
    "reason": {"type": "string", "description": "tombstones: why the item was revoked or purged"},
    "entity_kind": {"type": "string"},
    "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
    "justification": {"type": "string", "description": "reasonable suspicion (28 CFR Part 23)"},
    "criminal_activity": {"type": "string"},
    "case_ref": {"type": "string"},
    "asserted_by": {"type": "string", "description": "uuid of the item asserting a link"},
}
SCHEMA = json.dumps(
    {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Khusela intelligence handling properties",
        "type": "object",
        "required": ["extension_type", "object_kind", "classification"],
        "properties": {"extension_type": {"const": "property-extension"}} | _MARKING | _ITEM,
        "additionalProperties": False,
    },
    sort_keys=True,
    indent=1,
)


def extension_definition() -> Any:
    """The extension-definition object every Khusela bundle carries (fixed, so it deduplicates)."""
    return stix2.v21.ExtensionDefinition(
        id=EXTENSION_ID,
        created_by_ref=KHUSELA_IDENTITY_ID,
        created=EXTENSION_CREATED,
        modified=EXTENSION_CREATED,
        name="Khusela intelligence handling",
        description="Classification, caveats, Admiralty grading, 3x5x2 handling, review date, "
        "originator instance and version of items shared between Khusela instances.",
        schema=SCHEMA,
        version="1.0.0",
        extension_types=["property-extension"],
    )


def khusela_identity() -> Any:
    return stix2.v21.Identity(
        id=KHUSELA_IDENTITY_ID,
        created=EXTENSION_CREATED,
        modified=EXTENSION_CREATED,
        name="Khusela",
        identity_class="system",
    )
