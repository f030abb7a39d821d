"""The access policy's decisions, one table per permission: each role alone, and nobody (an
anonymous caller). Pure: users are plain objects, no application and no database."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from core import policy
from core.auth import ADMIN, AGENCY_ADMIN, COMMANDER, OPERATOR, SUPPLIER, VIEWER
from core.errors import NotAllowed

ROLES = (ADMIN, OPERATOR, COMMANDER, VIEWER, SUPPLIER, AGENCY_ADMIN)
ANONYMOUS = SimpleNamespace(is_authenticated=False)


def person(*roles: str, path: str | None = "/1/2/"):
    agency = SimpleNamespace(path=path) if path else None
    return SimpleNamespace(is_authenticated=True, role_names=set(roles), agency=agency)


# permission -> the roles that have it (alone, with an agency); nobody else, anonymous included
TABLE = {
    policy.works_in_registry: {ADMIN, OPERATOR, COMMANDER, VIEWER},
    policy.is_supplier_account: {SUPPLIER},
    policy.sees_whole_plans: {ADMIN, COMMANDER, VIEWER},
    policy.may_read_planning_sources: {ADMIN, COMMANDER},
    policy.writes_everywhere: {ADMIN},
    policy.may_move_stock_for_dispatch: {COMMANDER},
    policy.may_command_incidents: {ADMIN, COMMANDER},
    policy.may_write_in_consultation: {ADMIN, COMMANDER, OPERATOR},
    policy.acts_on_any_warning: {ADMIN, COMMANDER},
    policy.may_administer_system: {ADMIN},
    policy.may_oversee_sharing: {ADMIN},
    policy.may_administer_accounts: {ADMIN, AGENCY_ADMIN},
    policy.administers_every_account: {ADMIN},
}


@pytest.mark.parametrize("permission", TABLE, ids=lambda p: p.__name__)
@pytest.mark.parametrize("role", ROLES)
def test_each_permission_belongs_to_the_roles_of_its_table(permission, role):
    assert permission(person(role)) is (role in TABLE[permission])


@pytest.mark.parametrize("permission", TABLE, ids=lambda p: p.__name__)
def test_anonymous_callers_and_nobody_hold_no_permission(permission):
    assert not permission(ANONYMOUS)
    assert not permission(None)
    assert not permission(person())


@pytest.mark.parametrize("permission", TABLE, ids=lambda p: p.__name__)
def test_roles_add_up(permission):
    both = person(SUPPLIER, VIEWER)
    assert permission(both) is bool(TABLE[permission] & {SUPPLIER, VIEWER})


# may_write_for_agency: (role, user's agency path, the data's agency path) -> allowed
WRITES = [
    (ADMIN, None, "/9/", True),
    (ADMIN, "/1/", "/9/", True),
    (OPERATOR, "/1/", "/1/", True),
    (OPERATOR, "/1/", "/1/4/", True),
    (OPERATOR, "/1/4/", "/1/", False),
    (OPERATOR, "/1/", "/9/", False),
    (OPERATOR, None, "/1/", False),
    (OPERATOR, "/1/", None, False),
    (COMMANDER, "/1/", "/1/", False),
    (VIEWER, "/1/", "/1/", False),
    (AGENCY_ADMIN, "/1/", "/1/", False),
    (SUPPLIER, "/1/", "/1/", False),
]


@pytest.mark.parametrize("role, mine, theirs, allowed", WRITES)
def test_operators_write_inside_their_subtree_and_administrators_anywhere(
    role, mine, theirs, allowed
):
    assert policy.may_write_for_agency(person(role, path=mine), theirs) is allowed


def test_an_anonymous_caller_writes_nowhere():
    assert not policy.may_write_for_agency(ANONYMOUS, "/1/")


@pytest.mark.parametrize(
    "role, mine, owner, allowed",
    [
        (ADMIN, None, "/9/", True),
        (OPERATOR, "/1/", "/1/3/", True),
        (
            VIEWER,
            "/1/",
            "/1/3/",
            True,
        ),  # the owner's staff see the button; the service asks may_write_for_agency
        (OPERATOR, "/1/3/", "/1/", False),
        (COMMANDER, None, "/1/", False),
    ],
)
def test_grants_are_decided_in_the_owners_subtree_or_by_whoever_oversees_sharing(
    role, mine, owner, allowed
):
    assert policy.may_decide_grant(person(role, path=mine), owner) is allowed


@pytest.mark.parametrize(
    "path, user_path, inside",
    [
        ("/1/2/", "/1/", True),
        ("/1/", "/1/", True),
        ("/1/", "/1/2/", False),
        ("/12/", "/1/", False),
        (None, "/1/", False),
        ("/1/", None, False),
    ],
)
def test_a_subtree_is_the_agency_and_those_below_it(path, user_path, inside):
    assert policy.is_in_subtree(path, user_path) is inside


def test_a_supplier_alone_is_outside_the_registry_and_a_staff_role_brings_it_in():
    assert policy.is_outside_registry({SUPPLIER})
    assert not policy.is_outside_registry({SUPPLIER, VIEWER})
    assert not policy.is_outside_registry(set())


@pytest.mark.parametrize(
    "roles, has_agency, expected",
    [
        # plan approvals, agency shipments, all shipments, supplier reviews, overdue reports, red warnings
        ({COMMANDER}, False, (True, False, True, False, False, False)),
        ({OPERATOR}, True, (False, True, False, False, True, True)),
        ({OPERATOR}, False, (False, False, False, False, False, False)),
        ({OPERATOR, COMMANDER}, True, (True, True, False, False, True, True)),
        ({ADMIN}, True, (False, False, False, True, False, True)),
        ({ADMIN}, False, (False, False, False, True, False, False)),
        ({VIEWER}, True, (False,) * 6),
        ({SUPPLIER}, False, (False,) * 6),
    ],
)
def test_each_role_is_given_its_own_kinds_of_todos(roles, has_agency, expected):
    scope = policy.todo_scope(roles, has_agency)
    assert (
        scope.plan_approvals,
        scope.agency_shipments,
        scope.all_shipments,
        scope.supplier_reviews,
        scope.overdue_reports,
        scope.red_warnings,
    ) == expected


def test_the_system_reader_reads_everything():
    assert policy.read_rule(set(policy.SYSTEM_READER_ROLES), False).everything


def test_administration_is_refused_with_a_403_to_everyone_else():
    policy.require_system_administration(person(ADMIN))
    with pytest.raises(NotAllowed):
        policy.require_system_administration(person(COMMANDER), "Only administrators.")


ROLE_TESTS = re.compile(
    r"""(?:\b[A-Z_]{3,}|["']\w+["'])\s+(?:not\s+)?in\s+[\w.()", ]*role_names"""
    r"|role_names\s*&|Agency\.path\.(?:like|startswith)"
)


def test_access_is_decided_by_the_policy_not_by_role_names_at_call_sites():
    """No `X in user.role_names`, `role_names & {...}` or hand-made subtree filter outside the
    policy and the scoping that applies it (tests/reserve/test_stock_door.py does the same for stock)."""
    root = Path(__file__).resolve().parents[2]
    allowed = {root / "core" / "policy.py", root / "core" / "scoping.py"}
    files = [
        path
        for package in ("core", "reserve", "dispatch", "public_site")
        for path in sorted((root / package).rglob("*"))
        if path.suffix in (".py", ".html") and path not in allowed
    ]
    offenders = [
        f"{path.relative_to(root)}: {line.strip()}"
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if ROLE_TESTS.search(line)
    ]
    assert not offenders, offenders
