"""Who may do what on the portal: administrators run it; an enterprise sees its own record."""

from flask_babel import gettext as _

from core.auth import ADMIN, SUPPLIER
from core.errors import NotAllowed


def is_admin(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and ADMIN in user.role_names)


def require_admin(user) -> None:
    if not is_admin(user):
        raise NotAllowed(_("Only administrators may do this."))


def is_supplier_account(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and SUPPLIER in user.role_names)
