"""Schemas of the users API (/api/v1/users). Inputs are allow-lists with documented bounds."""

from marshmallow import Schema, fields, validate

from .accounts_rules import PASSWORD_METHODS, STATUSES, status_of
from .auth import ROLES
from .schemas import AgencyBriefSchema

ROLE = fields.Str(validate=validate.OneOf(list(ROLES)))


class UserSchema(Schema):
    id = fields.Int()
    email = fields.Str()
    display_name = fields.Str()
    roles = fields.Method("_roles")
    agency = fields.Nested(AgencyBriefSchema, allow_none=True)
    active = fields.Bool()
    must_change_password = fields.Bool()
    status = fields.Method("_status", metadata={"enum": list(STATUSES)})
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(attribute="current_login_at", allow_none=True)
    password_changed_at = fields.DateTime(allow_none=True)

    def _roles(self, user) -> list[str]:
        return sorted(user.role_names)

    def _status(self, user) -> str:
        return status_of(user.active, user.must_change_password)


class UserQuerySchema(Schema):
    q = fields.Str(
        load_default=None,
        validate=validate.Length(max=100),
        metadata={"description": "part of the e-mail address or the name"},
    )
    role = fields.Str(load_default=None, validate=validate.OneOf(list(ROLES)))
    agency_id = fields.Int(
        load_default=None, metadata={"description": "this agency and the agencies below it"}
    )
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))


class UserCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    display_name = fields.Str(load_default="", validate=validate.Length(max=100))
    roles = fields.List(ROLE, required=True, validate=validate.Length(min=1, max=len(ROLES)))
    agency_id = fields.Int(load_default=None, allow_none=True)
    password_method = fields.Str(
        load_default="issue",
        validate=validate.OneOf(PASSWORD_METHODS),
        metadata={
            "description": "issue: a one-time password, returned once, to be changed at the first login; "
            "link: a link to set the password is e-mailed (through the outbox)"
        },
    )


class UserUpdateSchema(Schema):
    display_name = fields.Str(validate=validate.Length(max=100))
    roles = fields.List(ROLE, validate=validate.Length(min=1, max=len(ROLES)))
    agency_id = fields.Int(allow_none=True)


class PasswordResetSchema(Schema):
    method = fields.Str(load_default="issue", validate=validate.OneOf(PASSWORD_METHODS))


class UserPasswordSchema(Schema):
    user = fields.Nested(UserSchema)
    issued_password = fields.Str(
        allow_none=True,
        metadata={
            "description": "the one-time password (method issue), returned this once; null when a link was sent"
        },
    )
