"""Sigma detection engine: load SigmaHQ rules, route events by logsource, report detections.

``load`` parses and compiles rules, ``compile`` turns conditions into matchers, ``anchors`` and
``route`` pick the few rules worth running on each Windows event, ``evtx`` reads Windows event logs,
``fields`` gives field names one spelling, ``scan`` reads every supported log kind for the
``khusela cyber scan`` command and ``regression`` runs SigmaHQ's reference cases.
"""

from __future__ import annotations

from khusela.cyber.sigma.evtx import FlatEvent, ReadStats, read_evtx
from khusela.cyber.sigma.load import CompiledRule, RuleFailure, RuleSet, load_rules, load_text
from khusela.cyber.sigma.route import Router
from khusela.cyber.sigma.scan import Detection, Scanner, ScanStats, detection_record, input_files

__all__ = [
    "CompiledRule",
    "Detection",
    "FlatEvent",
    "ReadStats",
    "Router",
    "RuleFailure",
    "RuleSet",
    "ScanStats",
    "Scanner",
    "detection_record",
    "input_files",
    "load_rules",
    "load_text",
    "read_evtx",
]
