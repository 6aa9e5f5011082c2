"""Panic's background services (device listeners, escalation timers, notifiers),
chosen from settings. `bootstrap` adds them to the platform; each line names one."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform


def panic_background(platform: Platform) -> list[Background]:
    services: list[Background] = []
    return services
