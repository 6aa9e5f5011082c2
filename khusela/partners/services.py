"""Partners' background services, chosen from settings. `bootstrap` adds them to the
platform; each line names one."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform


def services(platform: Platform) -> list[Background]:
    from khusela.partners.delivery import CommunityAlertDelivery  # community alerts: texts and pushes
    from khusela.partners.ports import default_push

    # Always on: without an SMS gateway people still get the push (and the public CAP feed).
    return [CommunityAlertDelivery(platform.db, platform.bus, platform.sms, default_push())]
