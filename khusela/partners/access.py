"""Who sees what in the partners module, beyond the role grants.

Community partners (CPF and neighbourhood-watch members) see only what is shared with their
own group — operations their group takes part in, their group's patrol reports — and only
at TLP:GREEN or TLP:CLEAR, whatever else their roles allow.
"""

from __future__ import annotations

from khusela.identity.model import AgencyType, Principal, Role
from khusela.intel.markings import Tlp

COMMUNITY_AGENCIES = frozenset({AgencyType.CPF, AgencyType.NEIGHBOURHOOD_WATCH})
COMMUNITY_CEILING = Tlp.GREEN


def is_community(viewer: Principal) -> bool:
    """A member of a community group, or someone whose only staff-like role is community partner."""
    return viewer.agency_type in COMMUNITY_AGENCIES or viewer.roles <= {Role.COMMUNITY_PARTNER, Role.RESIDENT}


def tlp_ceiling(viewer: Principal) -> Tlp:
    return COMMUNITY_CEILING if is_community(viewer) else Tlp.RED
