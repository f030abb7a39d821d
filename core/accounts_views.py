"""User management pages (用户管理): list, create, edit, disable/enable, reset passwords."""

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from . import accounts, accounts_rules
from .auth import ROLES
from .errors import DomainError
from .pagination import paginate

bp = Blueprint("accounts", __name__)

PER_PAGE = 50
MAX_TEXT = 100


def _filters() -> dict:
    args = request.args
    role = args.get("role") if args.get("role") in ROLES else None
    status = args.get("status") if args.get("status") in accounts_rules.STATUSES else None
    return {
        "q": (args.get("q") or "").strip()[:MAX_TEXT] or None,
        "role": role,
        "agency_id": args.get("agency_id", type=int),
        "status": status,
    }


def _form_values() -> dict:
    form = request.form
    return {
        "display_name": (form.get("display_name") or "")[:MAX_TEXT],
        "roles": form.getlist("roles")[: len(ROLES)],
        "agency_id": form.get("agency_id", type=int),
    }


@bp.route("/admin/users")
@auth_required("session")
def user_list():
    filters = _filters()
    result = paginate(
        accounts.list_users(current_user, **filters),
        request.args.get("page", 1, type=int),
        PER_PAGE,
    )
    grantable, agencies = accounts.assignable(current_user)
    query = {k: v for k, v in filters.items() if v is not None}  # for the pager and the CSV link
    return render_template(
        "admin/users.html",
        result=result,
        filters=filters,
        query=query,
        agencies=agencies,
        statuses={s: accounts.status_label(s) for s in accounts_rules.STATUSES},
        status_of=accounts_rules.status_of,
        can_create=bool(grantable),
    )


@bp.route("/admin/users.csv")
@auth_required("session")
def user_csv():
    body = accounts.export_users_csv(current_user, **_filters())
    return Response(
        body,
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=users.csv"},
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@auth_required("session")
def user_new():
    accounts.require_manager(current_user)
    grantable, agencies = accounts.assignable(current_user)
    if request.method == "POST":
        values = _form_values()
        try:
            user, issued = accounts.create_user(
                current_user,
                email=(request.form.get("email") or "")[:254],
                password_method=request.form.get("password_method", "issue"),
                **values,
            )
        except DomainError as exc:
            flash(exc.detail, "error")
            return render_template(
                "admin/user_form.html",
                user=None,
                values=values,
                errors=exc.errors or {},
                email=request.form.get("email", "")[:254],
                grantable=grantable,
                agencies=agencies,
            ), exc.status
        return _after_password(user, issued, _("Account %(email)s created.", email=user.email))
    return render_template(
        "admin/user_form.html",
        user=None,
        values={"roles": [], "agency_id": None},
        errors={},
        email="",
        grantable=grantable,
        agencies=agencies,
    )


def _after_password(user, issued: str | None, done: str):
    """An issued password is shown on this one response (never flashed: the cookie would keep it)."""
    if issued:
        return render_template("admin/user_password.html", user=user, issued=issued, done=done)
    flash(
        done + " " + _("A link to set the password was e-mailed to %(email)s.", email=user.email),
        "success",
    )
    return redirect(url_for("accounts.user_edit", user_id=user.id), 303)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@auth_required("session")
def user_edit(user_id):
    user = accounts.get_user(current_user, user_id)
    grantable, agencies = accounts.assignable(current_user)
    errors = {}
    if request.method == "POST":
        values = _form_values()
        try:
            accounts.update_user(current_user, user_id, agency_given=True, **values)
            flash(_("Account %(email)s saved.", email=user.email), "success")
            return redirect(url_for("accounts.user_edit", user_id=user_id), 303)
        except DomainError as exc:
            flash(exc.detail, "error")
            errors = exc.errors or {}
    values = {
        "display_name": user.display_name,
        "roles": sorted(user.role_names),
        "agency_id": user.agency_id,
    }
    return render_template(
        "admin/user_form.html",
        user=user,
        values=values,
        errors=errors,
        email=user.email,
        grantable=grantable,
        agencies=agencies,
        status=accounts.status_label(
            accounts_rules.status_of(user.active, user.must_change_password)
        ),
    )


@bp.route("/admin/users/<int:user_id>/status", methods=["POST"])
@auth_required("session")
def user_status(user_id):
    active = request.form.get("active") == "1"
    accounts.get_user(
        current_user, user_id
    )  # 403 / 404 as a page; a refused change below is flashed
    try:
        user = accounts.set_active(current_user, user_id, active)
        flash(
            _("Account %(email)s enabled.", email=user.email)
            if active
            else _(
                "Account %(email)s disabled: its sessions ended, logins and API tokens are refused.",
                email=user.email,
            ),
            "success",
        )
    except DomainError as exc:
        flash(exc.detail, "error")
    return redirect(url_for("accounts.user_edit", user_id=user_id), 303)


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@auth_required("session")
def user_password(user_id):
    accounts.get_user(current_user, user_id)
    try:
        user, issued = accounts.reset_password(
            current_user, user_id, request.form.get("method", "issue")
        )
    except DomainError as exc:
        flash(exc.detail, "error")
        return redirect(url_for("accounts.user_edit", user_id=user_id), 303)
    return _after_password(
        user, issued, _("The password of %(email)s was reset.", email=user.email)
    )
