"""Panic's background services (device listeners, escalation timers, notifiers),
chosen from settings. `bootstrap` adds them to the platform; each line names one."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform


def panic_background(platform: Platform) -> list[Background]:
    from khusela.audit.appender import AuditAppender  # chains the audit records intake stages

    services: list[Background] = [AuditAppender(platform.db)]
    if platform.settings.mqtt_url:  # devices and unit locations over MQTT
        from khusela.panic.channels.mqtt import MqttListener

        services.append(
            MqttListener(
                platform.settings.mqtt_url, platform.db, platform.gazetteer, notify=platform.relay.notify
            )
        )
    from khusela.api.feed import FeedHub  # live feed, escalation timers, resident/contact texts
    from khusela.panic import escalation, notify

    services += [FeedHub(platform.bus, platform.db), *escalation.services(platform)]
    services += notify.services(platform)
    from khusela.core.sealed import sealer
    from khusela.panic.partners.delivery import PartnerDelivery  # partner link (signed webhooks)
    from khusela.panic.partners.tables import SEALED

    services.append(
        PartnerDelivery(
            platform.db,
            platform.bus,
            notify=platform.relay.notify,
            sealer=sealer(platform.settings.secret_key, SEALED),
        )
    )
    return services
