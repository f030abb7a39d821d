"""The access policy: every decision about what a user may read, write or do, by role and agency.

Call sites ask a permission named for what it allows (`may_command_incidents(user)`), never a
role name. Each permission is a pure function of the user's role names and agency path (the
`facts` of a user, or of any object with `is_authenticated`, `role_names` and `agency`), so the
whole table is tested without a database (tests/core/test_policy.py). Applying the read table to a
query is core/scoping.py's job; who may grant which role is core/accounts_rules.py's data.

Who reads what (rows of agency-owned data, by the owner agency and the row's classification):

| role                | public      | internal    | restricted  |
|---------------------|-------------|-------------|-------------|
| supplier            | none        | none        | none        |
| anonymous           | all         | none        | none        |
| agency_operator     | own subtree | own subtree | own subtree |
| viewer, admin       | all         | all         | own subtree |
| commander           | all         | all         | all         |

Who writes: operators inside their agency subtree, administrators anywhere; command staff also
reserve and take back stock across agencies for dispatch. Roles add up.

A subtree is a materialised path prefix: the agency at "/1/4/" and every agency whose path
starts with it. In SQL, core.scoping.subtree_ids(path) is the one filter.
"""

from dataclasses import dataclass

from flask_babel import gettext as _

from .auth import ADMIN, AGENCY_ADMIN, COMMANDER, OPERATOR, SUPPLIER, VIEWER
from .errors import NotAllowed

STAFF = frozenset({ADMIN, OPERATOR, COMMANDER, VIEWER})  # the roles that work in the registry
COMMAND = frozenset({COMMANDER, ADMIN})  # run incidents, plans and shipments
SYSTEM_READER_ROLES = frozenset({COMMANDER})  # a scheduled job that reads every row

# Who is told, by role (role names for SQL filters over accounts: `Role.name.in_(...)`).
AGENCY_WARNING_RECIPIENTS = (OPERATOR,)  # orange and red warnings of their agency
RED_WARNING_RECIPIENTS = (COMMANDER,)  # every red warning
TODO_DIGEST_RECIPIENTS = (OPERATOR, ADMIN, COMMANDER)  # a daily digest of their to-dos


# --- the facts every decision rests on ---------------------------------------------------------


def facts(user) -> tuple[set[str], str | None]:
    """(role names, agency path) of `user`; anonymous callers and None have neither."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set(), None
    agency = getattr(user, "agency", None)
    return set(getattr(user, "role_names", set())), (agency.path if agency is not None else None)


def _roles(user) -> set[str]:
    """Role names alone: an object without them (an anonymous caller) holds none."""
    return set(getattr(user, "role_names", None) or ())


def is_in_subtree(agency_path: str | None, user_path: str | None) -> bool:
    """Whether the agency at `agency_path` is the user's agency or below it."""
    return bool(agency_path and user_path and agency_path.startswith(user_path))


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadRule:
    everything: bool  # no filter at all
    all_unrestricted: bool  # public + internal of every agency
    subtree: bool  # anything inside the user's agency subtree
    public: bool  # public rows of every agency


def is_outside_registry(roles: set[str]) -> bool:
    """A supplier enterprise's account: the portal is its world, the registry is closed to it."""
    return SUPPLIER in roles and not roles & STAFF


def read_rule(roles: set[str], has_agency: bool) -> ReadRule:
    """The read table above, for one set of roles."""
    return ReadRule(
        everything=COMMANDER in roles,
        all_unrestricted=bool(roles & {ADMIN, VIEWER}),
        subtree=has_agency and bool(roles & {OPERATOR, ADMIN, VIEWER}),
        public=OPERATOR not in roles and not is_outside_registry(roles),
    )


def works_in_registry(user) -> bool:
    """Staff: the registry's pages, incidents, warnings and the to-do list."""
    return bool(_roles(user) & STAFF)


def is_supplier_account(user) -> bool:
    """The account of a supplier enterprise (its own enterprise pages and offers)."""
    return SUPPLIER in _roles(user)


def sees_whole_plans(user) -> bool:
    """Every line of a dispatch plan; the others see the lines their agency subtree supplies."""
    return bool(_roles(user) & {ADMIN, COMMANDER, VIEWER})


def may_read_planning_sources(user) -> bool:
    """The approved supplier offers a plan may draw on."""
    return bool(_roles(user) & COMMAND)


# --- writing ----------------------------------------------------------------------------------


def writes_everywhere(user) -> bool:
    """Data of every agency (administrators); operators only inside their subtree."""
    return ADMIN in _roles(user)


def may_write_for_agency(user, agency_path: str | None) -> bool:
    """Change data owned by the agency at `agency_path`."""
    roles, path = facts(user)
    if ADMIN in roles:
        return True
    return OPERATOR in roles and is_in_subtree(agency_path, path)


def may_move_stock_for_dispatch(user) -> bool:
    """Reserve, release and take back stock of any agency for an incident (command staff);
    everyone else only where they may write."""
    return COMMANDER in _roles(user)


# --- dispatch ---------------------------------------------------------------------------------


def may_command_incidents(user) -> bool:
    """Incidents, demands, plans (approve, cancel), every shipment, the after-action report."""
    return bool(_roles(user) & COMMAND)


def may_read_readiness(user) -> bool:
    """Readiness (备战评估): scores and coverage by county, for command staff and leaders."""
    return bool(_roles(user) & (COMMAND | {VIEWER}))


def may_write_in_consultation(user) -> bool:
    """Post in an incident's consultation (leaders and viewers only read it)."""
    return bool(_roles(user) & {ADMIN, COMMANDER, OPERATOR})


def acts_on_any_warning(user) -> bool:
    """Acknowledge or resolve warnings of every agency and those of no agency."""
    return bool(_roles(user) & COMMAND)


# --- administration ---------------------------------------------------------------------------


def may_administer_system(user) -> bool:
    """The catalog, reporting calendar, warning thresholds and scans, agency imports, external
    clients, the audit log and the public portal (notices, suppliers, board, feedback)."""
    return ADMIN in _roles(user)


def require_system_administration(user, detail: str | None = None) -> None:
    if not may_administer_system(user):
        raise NotAllowed(detail or _("Only administrators may do this."))


def may_oversee_sharing(user) -> bool:
    """Every sharing grant and access log, and the sharing summary."""
    return ADMIN in _roles(user)


def may_decide_grant(user, owner_path: str | None) -> bool:
    """Approve or revoke a grant on data owned by the agency at `owner_path` (the owner's
    subtree, or whoever oversees sharing)."""
    return is_in_subtree(owner_path, facts(user)[1]) or may_oversee_sharing(user)


def may_administer_accounts(user) -> bool:
    """The user-management pages (core/accounts.py; core/accounts_rules.py says whom)."""
    return bool(_roles(user) & {ADMIN, AGENCY_ADMIN})


def administers_every_account(user) -> bool:
    """Accounts of every agency; agency administrators only inside their subtree."""
    return ADMIN in _roles(user)


# --- the to-do list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TodoScope:
    """Which kinds of to-dos reach a user (the features' to-dos, core/todos.py)."""

    plan_approvals: bool  # draft plans waiting for a commander
    agency_shipments: bool  # shipments to send and receive of the user's subtree
    all_shipments: bool  # every shipment (command staff without an operator's agency)
    supplier_reviews: bool  # registrations waiting for review
    overdue_reports: bool  # the subtree's reports past their due date
    red_warnings: bool  # the subtree's open red warnings


def todo_scope(roles: set[str], has_agency: bool) -> TodoScope:
    operator = OPERATOR in roles and has_agency
    return TodoScope(
        plan_approvals=COMMANDER in roles,
        agency_shipments=operator,
        all_shipments=COMMANDER in roles and not operator,
        supplier_reviews=ADMIN in roles,
        overdue_reports=operator,
        red_warnings=bool(roles & {OPERATOR, ADMIN}) and has_agency,
    )


def todo_reach(user) -> tuple[TodoScope, str | None]:
    """The user's to-do scope and agency path (the subtree its to-dos are read in)."""
    roles, path = facts(user)
    return todo_scope(roles, bool(path)), path
