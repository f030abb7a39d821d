"""Who manages whom, as pure functions of role names and agency paths (core/accounts.py uses
them; the table is in its docstring and in docs/accounts.md)."""

import secrets

from .auth import ADMIN, AGENCY_ADMIN, COMMANDER, OPERATOR, VIEWER
from .policy import is_in_subtree

GRANTABLE = {
    ADMIN: frozenset({ADMIN, COMMANDER, VIEWER, OPERATOR, AGENCY_ADMIN}),
    AGENCY_ADMIN: frozenset({OPERATOR, AGENCY_ADMIN}),
}
NEEDS_AGENCY = frozenset({OPERATOR, AGENCY_ADMIN})  # without one they would see and manage nothing
STATUSES = ("active", "disabled", "must_change")
PASSWORD_METHODS = ("issue", "link")
ISSUED_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I


def grantable_roles(roles: set[str]) -> frozenset[str]:
    return frozenset().union(*(GRANTABLE.get(role, frozenset()) for role in roles))


def can_see(roles: set[str], actor_path: str | None, target_path: str | None) -> bool:
    """Whether the account of a user in the agency at `target_path` is visible to the actor."""
    return ADMIN in roles or (AGENCY_ADMIN in roles and is_in_subtree(target_path, actor_path))


def can_manage(
    roles: set[str], actor_path: str | None, target_path: str | None, target_roles: set[str]
) -> bool:
    """Visible, and holding no role the actor could not grant (supplier accounts: admins only)."""
    if not can_see(roles, actor_path, target_path):
        return False
    if ADMIN in roles:
        return True
    return target_roles <= grantable_roles(roles)


def can_assign(roles: set[str], current: set[str], new: set[str]) -> bool:
    """Every role added or removed is one the actor may grant."""
    return (new ^ current) <= grantable_roles(roles)


def status_of(active: bool, must_change: bool) -> str:
    if not active:
        return "disabled"
    return "must_change" if must_change else "active"


def issue_password() -> str:
    """A random one-time password: four groups of four unambiguous characters (~92 bits)."""
    return "-".join("".join(secrets.choice(ISSUED_ALPHABET) for _ in range(4)) for _ in range(4))
