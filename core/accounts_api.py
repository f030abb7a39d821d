"""Users API (administrators; agency administrators within their subtree)."""

from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from . import accounts
from .accounts_schemas import (
    PasswordResetSchema,
    UserCreateSchema,
    UserPasswordSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from .pagination import PageArgsSchema, page_schema, paginate

blp = Blueprint(
    "users",
    __name__,
    url_prefix="/api/v1/users",
    description="User accounts (用户管理): create, edit, disable, reset passwords",
)


@blp.route("")
@auth_required("token", "session")
@blp.arguments(UserQuerySchema, location="query")
@blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
@blp.response(200, page_schema(UserSchema))
def list_users(query, page, per_page):
    """Accounts the caller manages, by e-mail; filter by text, role, agency (subtree) and status."""
    return paginate(accounts.list_users(current_user, **query), page, per_page)


@blp.route("", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserPasswordSchema)
def create_user(data):
    """A new account. An agency administrator grants only operator and agency administrator,
    inside its own subtree."""
    user, issued = accounts.create_user(current_user, **data)
    return {"user": user, "issued_password": issued}


@blp.route("/<int:user_id>")
@auth_required("token", "session")
@blp.response(200, UserSchema)
def get_user(user_id):
    return accounts.get_user(current_user, user_id)


@blp.route("/<int:user_id>", methods=["PATCH"])
@auth_required("token", "session")
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user(data, user_id):
    """Name, roles, agency (`agency_id: null` removes it). Nobody changes their own roles or agency."""
    return accounts.update_user(
        current_user,
        user_id,
        display_name=data.get("display_name"),
        roles=data.get("roles"),
        agency_id=data.get("agency_id"),
        agency_given="agency_id" in data,
    )


@blp.route("/<int:user_id>/disable", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, UserSchema)
def disable_user(user_id):
    """Sessions end at once; logins and API tokens are refused."""
    return accounts.set_active(current_user, user_id, False)


@blp.route("/<int:user_id>/enable", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, UserSchema)
def enable_user(user_id):
    return accounts.set_active(current_user, user_id, True)


@blp.route("/<int:user_id>/password", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(PasswordResetSchema)
@blp.response(200, UserPasswordSchema)
def reset_password(data, user_id):
    """Issue a one-time password (returned once; the user's API tokens stop working) or e-mail a
    reset link."""
    user, issued = accounts.reset_password(current_user, user_id, data["method"])
    return {"user": user, "issued_password": issued}
