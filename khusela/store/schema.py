"""Imports every module's tables so the metadata is complete (for Alembic and tests)."""

from __future__ import annotations

from khusela.audit import tables as _audit_tables
from khusela.bus import tables as _bus_tables
from khusela.cctv import tables as _cctv_tables
from khusela.cctv.recording import tables as _recording_tables
from khusela.cyber.soc import tables as _cyber_tables
from khusela.evidence import tables as _evidence_tables
from khusela.identity import tables as _identity_tables
from khusela.intel import tables as _intel_tables
from khusela.panic import tables as _panic_tables
from khusela.panic.partners import tables as _partner_tables
from khusela.partners import tables as _partners_tables
from khusela.risk import tables as _risk_tables
from khusela.store.metadata import metadata

__all__ = ["metadata"]
_MODULES = (
    _audit_tables,
    _bus_tables,
    _cctv_tables,
    _recording_tables,
    _cyber_tables,
    _evidence_tables,
    _identity_tables,
    _intel_tables,
    _panic_tables,
    _partner_tables,
    _partners_tables,
    _risk_tables,
)
