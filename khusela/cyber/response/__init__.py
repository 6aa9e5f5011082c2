"""Response actions that neutralise an attack, as the files enforcement points consume.

The SOC's actions table (in `khusela.cyber.soc`) decides what is blocked; this package turns the
set of currently active blocks into an nftables script, a plain IP blocklist, a DNS RPZ zone and
mail-gateway quarantine instructions, written atomically. Pure and offline: no database, no
network, no firewall calls — an operator's cron job or path unit loads the files."""

from khusela.cyber.response.model import ActiveBlock, ResponseFiles, WrittenFile
from khusela.cyber.response.rpz import ZoneRejected
from khusela.cyber.response.targets import (
    InvalidTarget,
    parse_domain_target,
    parse_ip_target,
    parse_message_target,
)
from khusela.cyber.response.writer import PublishFailed, publish

__all__ = [
    "ActiveBlock",
    "InvalidTarget",
    "PublishFailed",
    "ResponseFiles",
    "WrittenFile",
    "ZoneRejected",
    "parse_domain_target",
    "parse_ip_target",
    "parse_message_target",
    "publish",
]
