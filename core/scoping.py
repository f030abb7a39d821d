"""Access scoping: the one mechanism every query of agency-owned data goes through.

Who reads what is the read table of core/policy.py (`read_rule`); this module applies it. An
operator works inside its subtree only, public rows of other agencies included: what other
agencies publish reaches it, like everyone, through the public portal's aggregates.

A supplier enterprise's account (the role `supplier` without a staff role) reads nothing of
the registry: its own enterprise, offers and documents and the public aggregates come from the
portal's services (public_site), and core/gate.py refuses it every registry route before a
service runs. Anonymous callers reach no registry route at all (each requires sign-in).

`scoped()` filters in SQL; `can_read()` answers for one loaded row. Both rest on the pure
`read_rule()`, so the table is tested without a database. Who writes is the policy's too
(`may_write_for_agency`). `subtree_ids()` is the one SQL form of "this agency and those below it":
no other module filters by agency path.

Data sharing (reserve/sharing) adds rows to this table, never removes any: `scoped(...,
shared=Shared(...))` also lets through the rows other agencies share with the user, unconditionally
(their public and internal rows) or through an active grant (every row; the sharing services
narrow the fields and log the read).
"""

import enum
from dataclasses import dataclass

from sqlalchemy import String, and_, false, or_, select
from sqlalchemy.orm import mapped_column

from .organisation import Agency
from .policy import ReadRule, facts, is_in_subtree, read_rule
from .policy import may_write_for_agency as can_write  # noqa: F401 (the name tests/core/test_scoping.py imports)


class Classification(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    RESTRICTED = "restricted"


def classification_column(default: Classification = Classification.INTERNAL):
    """The classification every agency-owned model carries (stored as its text value)."""
    return mapped_column(
        String(12), default=default.value, server_default=default.value, index=True
    )


@dataclass(frozen=True)
class Shared:
    """Owner agencies (ids, or a select of ids) whose rows reach the user by sharing."""

    unrestricted_owners: object = None  # unconditional sharing: their public and internal rows
    granted_owners: object = None  # an active grant: all their rows


def scope_key(user) -> tuple:
    """What every read decision about `user` depends on (role names, agency path): readers with
    equal keys read the same rows. A key for answers kept per scope (core.kept)."""
    roles, path = facts(user)
    return tuple(sorted(roles)), path


def rule_for(user) -> ReadRule:
    roles, path = facts(user)
    return read_rule(roles, path is not None)


def subtree_ids(path: str):
    """Select of the ids of the agency at `path` and all its descendants (materialised path)."""
    return select(Agency.id).where(Agency.path.like(f"{path}%"))


def scoped(stmt, user, owner_col, classification_col=None, shared: Shared | None = None):
    """Restrict `stmt` to the rows `user` may read. Rows without a classification count as internal.
    `shared`: also the rows other agencies share with the user (see Shared)."""
    roles, path = facts(user)
    rule = read_rule(roles, path is not None)
    if rule.everything:
        return stmt
    clauses = []
    if classification_col is not None:
        if rule.public:
            clauses.append(classification_col == Classification.PUBLIC.value)
        if rule.all_unrestricted:
            clauses.append(classification_col != Classification.RESTRICTED.value)
    elif rule.all_unrestricted:
        return stmt
    if rule.subtree:
        clauses.append(owner_col.in_(subtree_ids(path)))
    if shared is not None:
        clauses += _shared_clauses(shared, owner_col, classification_col)
    return stmt.where(or_(*clauses) if clauses else false())


def _shared_clauses(shared: Shared, owner_col, classification_col) -> list:
    clauses = []
    if shared.unrestricted_owners is not None:
        clause = owner_col.in_(shared.unrestricted_owners)
        if classification_col is not None:
            clause = and_(clause, classification_col != Classification.RESTRICTED.value)
        clauses.append(clause)
    if shared.granted_owners is not None:
        clauses.append(owner_col.in_(shared.granted_owners))
    return clauses


def can_read(
    user, agency_path: str | None, classification: str = Classification.INTERNAL.value
) -> bool:
    roles, path = facts(user)
    rule = read_rule(roles, path is not None)
    if rule.everything or (rule.public and classification == Classification.PUBLIC.value):
        return True
    if rule.subtree and is_in_subtree(agency_path, path):
        return True
    return rule.all_unrestricted and classification != Classification.RESTRICTED.value
