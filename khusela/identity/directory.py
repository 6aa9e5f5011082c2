"""Agencies and users: create, list, and load a user as a `Principal`.

Every change is audited in the same transaction as the change itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, func, insert, literal, select, union_all

from khusela.audit import log as audit
from khusela.core.errors import Forbidden, InvalidInput, NotFound
from khusela.core.geo import is_valid_cell
from khusela.core.ids import new_id
from khusela.core.sealed import Sealer, from_settings
from khusela.identity import passwords, totp
from khusela.identity.model import (
    SYSTEM,
    Agency,
    AgencyType,
    Clearance,
    Jurisdiction,
    Principal,
    Role,
)
from khusela.identity.policy import Action, Columns, read_filter
from khusela.identity.tables import (
    agencies,
    agency_cells,
    sharing_group_members,
    sharing_groups,
    user_roles,
    users,
)
from khusela.store.unique import insert_unique

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")
_SA_MOBILE = re.compile(r"^\+27[1-9]\d{8}$")


def normalise_phone(raw: str) -> str:
    """South African numbers to E.164: `082 123 4567` → `+27821234567`."""
    digits = re.sub(r"[\s()-]", "", raw)
    if digits.startswith("0") and len(digits) == 10:
        digits = "+27" + digits[1:]
    elif digits.startswith("27") and len(digits) == 11:
        digits = "+" + digits
    if not _SA_MOBILE.match(digits):
        raise InvalidInput("phone must be a South African number such as +27821234567")
    return digits


def create_agency(
    conn: Connection,
    actor: Principal,
    name: str,
    type: AgencyType,
    jurisdiction: Jurisdiction | None = None,
) -> Agency:
    name = name.strip()
    jurisdiction = jurisdiction or Jurisdiction()
    if not name:
        raise InvalidInput("agency name must not be empty")
    bad = [c for c in jurisdiction.cells if not is_valid_cell(c)]
    if bad:
        raise InvalidInput(f"not an H3 cell: {bad[0]!r}")
    agency = Agency(new_id(), name, type, jurisdiction)
    insert_unique(
        conn,
        insert(agencies).values(
            id=agency.id,
            name=name,
            type=type.value,
            provinces=sorted(jurisdiction.provinces),
            municipalities=sorted(jurisdiction.municipalities),
            created_at=datetime.now(UTC),
        ),
        f"an agency named {name!r} already exists",
    )
    if jurisdiction.cells:
        conn.execute(
            insert(agency_cells),
            [{"agency_id": agency.id, "cell": c} for c in sorted(jurisdiction.cells)],
        )
    audit.record(
        conn,
        actor.username,
        "agency.create",
        "agency",
        agency.id,
        {"name": name, "type": type.value},
    )
    return agency


def _jurisdiction(conn: Connection, row: object) -> Jurisdiction:
    cells = conn.execute(select(agency_cells.c.cell).where(agency_cells.c.agency_id == row.id)).scalars()  # type: ignore[attr-defined]
    return Jurisdiction(
        provinces=frozenset(row.provinces or ()),  # type: ignore[attr-defined]
        municipalities=frozenset(row.municipalities or ()),  # type: ignore[attr-defined]
        cells=frozenset(cells),
    )


def get_agency(conn: Connection, agency_id: str) -> Agency:
    row = conn.execute(select(agencies).where(agencies.c.id == agency_id)).first()
    if row is None:
        raise NotFound("no such agency")
    return Agency(row.id, row.name, AgencyType(row.type), _jurisdiction(conn, row))


def find_agency(conn: Connection, name_or_id: str) -> Agency:
    row = conn.execute(
        select(agencies.c.id).where((agencies.c.name == name_or_id) | (agencies.c.id == name_or_id))
    ).first()
    if row is None:
        raise NotFound(f"no agency named {name_or_id!r}")
    return get_agency(conn, row.id)


@dataclass(frozen=True, slots=True)
class AgencySummary:
    id: str
    name: str
    type: AgencyType
    provinces: list[str]
    municipalities: list[str]
    cell_count: int


def list_agencies(conn: Connection, viewer: Principal) -> list[AgencySummary]:
    allowed = read_filter(viewer, Action.AGENCY_READ, Columns(agency=agencies.c.id))
    counts = (
        select(agency_cells.c.agency_id, func.count().label("n"))
        .group_by(agency_cells.c.agency_id)
        .subquery()
    )
    query = (
        select(agencies, func.coalesce(counts.c.n, 0).label("n"))
        .outerjoin(counts, counts.c.agency_id == agencies.c.id)
        .where(allowed)
        .order_by(agencies.c.name)
    )
    return [
        AgencySummary(r.id, r.name, AgencyType(r.type), list(r.provinces), list(r.municipalities), int(r.n))
        for r in conn.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class NewUser:
    user: Principal
    totp_secret: str | None

    @property
    def provisioning_uri(self) -> str | None:
        if self.totp_secret is None:
            return None
        return totp.provisioning_uri(self.totp_secret, self.user.username)


def create_user(
    conn: Connection,
    actor: Principal,
    *,
    username: str,
    roles: Iterable[Role],
    password: str | None = None,
    display_name: str | None = None,
    agency_id: str | None = None,
    clearance: Clearance = Clearance.UNCLASSIFIED,
    phone: str | None = None,
    totp_secret: str | None = None,
    sealer: Sealer | None = None,
) -> NewUser:
    """Create a user; staff roles get a TOTP secret to enrol, residents a phone login.

    The TOTP secret is stored sealed by `sealer` (the platform's, from its settings; by
    default the process's own settings) and handed back in plaintext once, for enrolment.
    """
    username = username.strip().lower()
    if actor is not SYSTEM and clearance > actor.clearance:
        raise Forbidden("you cannot grant a clearance above your own")
    if not _USERNAME.match(username):
        raise InvalidInput("username: 3-80 characters of a-z, 0-9, '.', '_' or '-'")
    role_set = frozenset(roles)
    if not role_set:
        raise InvalidInput("a user needs at least one role")
    phone = normalise_phone(phone) if phone else None
    if Role.RESIDENT in role_set and phone is None:
        raise InvalidInput("a resident needs a phone number to sign in")
    staff = bool(role_set - {Role.RESIDENT})
    if staff and agency_id is None:
        raise InvalidInput("staff and partner users belong to an agency")
    if staff and not password:
        raise InvalidInput("staff and partner users need a password")
    agency = get_agency(conn, agency_id) if agency_id else None
    try:
        password_hash = passwords.hash_password(password) if password else None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    principal = Principal(
        user_id=new_id(),
        username=username,
        roles=role_set,
        clearance=clearance,
        agency_id=agency.id if agency else None,
        agency_type=agency.type if agency else None,
        jurisdiction=agency.jurisdiction if agency else Jurisdiction(),
        agency_name=agency.name if agency else None,
    )
    secret = (totp_secret or totp.new_secret()) if principal.needs_totp else None
    insert_unique(
        conn,
        insert(users).values(
            id=principal.user_id,
            username=username,
            display_name=(display_name or username).strip(),
            phone=phone,
            password_hash=password_hash,
            totp_secret=_sealed(secret, principal.user_id, sealer),
            agency_id=principal.agency_id,
            clearance=int(clearance),
            is_active=True,
            created_at=datetime.now(UTC),
        ),
        "that username or phone number is already registered",
    )
    conn.execute(
        insert(user_roles),
        [{"user_id": principal.user_id, "role": r.value} for r in sorted(role_set)],
    )
    audit.record(
        conn,
        actor.username,
        "user.create",
        "user",
        principal.user_id,
        {"roles": sorted(role_set), "agency_id": principal.agency_id, "clearance": clearance.label},
    )
    return NewUser(principal, secret)


def _sealed(secret: str | None, user_id: str, sealer: Sealer | None) -> str | None:
    if secret is None:
        return None
    return (sealer or from_settings(totp.SEALED)).seal(secret, user_id)


def load_principal(conn: Connection, user_id: str) -> Principal | None:
    """The user as the policy sees them, or None when unknown or deactivated.

    Two statements (user with agency; roles, groups and jurisdiction cells together):
    this runs on every token-cache miss, so its round trips are the sign-in cost.
    """
    row = conn.execute(
        select(
            users.c.id,
            users.c.username,
            users.c.clearance,
            users.c.agency_id,
            agencies.c.name.label("agency_name"),
            agencies.c.type.label("agency_type"),
            agencies.c.provinces,
            agencies.c.municipalities,
        )
        .outerjoin(agencies, agencies.c.id == users.c.agency_id)
        .where(users.c.id == user_id, users.c.is_active)
    ).first()
    if row is None:
        return None
    parts = union_all(
        select(literal("role").label("kind"), user_roles.c.role.label("value")).where(
            user_roles.c.user_id == user_id
        ),
        select(literal("group"), sharing_group_members.c.group_id).where(
            sharing_group_members.c.user_id == user_id
        ),
        select(literal("cell"), agency_cells.c.cell).where(agency_cells.c.agency_id == (row.agency_id or "")),
    )
    found: dict[str, set[str]] = {"role": set(), "group": set(), "cell": set()}
    for kind, value in conn.execute(parts):
        found[kind].add(value)
    return Principal(
        user_id=row.id,
        username=row.username,
        roles=frozenset(Role(r) for r in found["role"]),
        clearance=Clearance(row.clearance),
        agency_id=row.agency_id,
        agency_type=AgencyType(row.agency_type) if row.agency_type else None,
        jurisdiction=Jurisdiction(
            provinces=frozenset(row.provinces or ()),
            municipalities=frozenset(row.municipalities or ()),
            cells=frozenset(found["cell"]),
        ),
        sharing_groups=frozenset(found["group"]),
        agency_name=row.agency_name,
    )


@dataclass(frozen=True, slots=True)
class UserSummary:
    id: str
    username: str
    display_name: str
    roles: list[str]
    agency_id: str | None
    agency_name: str | None
    clearance: str
    is_active: bool


def contact_of(conn: Connection, user_id: str) -> tuple[str, str | None] | None:
    """(display name, phone) of a user, for modules that must reach or identify a person;
    the caller's own access check decides whether it may be shown."""
    row = conn.execute(select(users.c.display_name, users.c.phone).where(users.c.id == user_id)).first()
    return None if row is None else (row.display_name, row.phone)


def list_users(conn: Connection, viewer: Principal, agency_id: str | None = None) -> list[UserSummary]:
    allowed = read_filter(viewer, Action.USER_READ, Columns(owner=users.c.id, agency=users.c.agency_id))
    query = (
        select(users, agencies.c.name.label("agency_name"))
        .outerjoin(agencies, agencies.c.id == users.c.agency_id)
        .where(allowed)
        .order_by(users.c.username)
    )
    if agency_id:
        query = query.where(users.c.agency_id == agency_id)
    rows = conn.execute(query).all()
    roles: dict[str, list[str]] = {}
    ids = [r.id for r in rows]
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for user_id, role in conn.execute(
            select(user_roles.c.user_id, user_roles.c.role).where(user_roles.c.user_id.in_(chunk))
        ):
            roles.setdefault(user_id, []).append(role)
    return [
        UserSummary(
            r.id,
            r.username,
            r.display_name,
            sorted(roles.get(r.id, [])),
            r.agency_id,
            r.agency_name,
            Clearance(r.clearance).label,
            bool(r.is_active),
        )
        for r in rows
    ]


def create_sharing_group(conn: Connection, actor: Principal, name: str, description: str = "") -> str:
    group_id = new_id()
    insert_unique(
        conn,
        insert(sharing_groups).values(
            id=group_id,
            name=name.strip(),
            description=description,
            created_at=datetime.now(UTC),
        ),
        f"a sharing group named {name!r} already exists",
    )
    audit.record(conn, actor.username, "sharing_group.create", "sharing_group", group_id, {"name": name})
    return group_id


def remove_from_sharing_group(conn: Connection, actor: Principal, group_id: str, user_id: str) -> bool:
    """Whether the user was in the group (and is no longer); audited either way it changed."""
    gone = conn.execute(
        delete(sharing_group_members).where(
            sharing_group_members.c.group_id == group_id, sharing_group_members.c.user_id == user_id
        )
    ).rowcount
    if gone:
        audit.record(
            conn,
            actor.username,
            "sharing_group.remove_member",
            "sharing_group",
            group_id,
            {"user_id": user_id},
        )
    return bool(gone)


def add_to_sharing_group(conn: Connection, actor: Principal, group_id: str, user_id: str) -> None:
    insert_unique(
        conn,
        insert(sharing_group_members).values(group_id=group_id, user_id=user_id),
        "that user is already in the group, or the group or user does not exist",
    )
    audit.record(
        conn,
        actor.username,
        "sharing_group.add_member",
        "sharing_group",
        group_id,
        {"user_id": user_id},
    )
