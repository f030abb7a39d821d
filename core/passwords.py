"""The password policy: Flask-Security's length and zxcvbn checks, answered in our own words.

Settings: SECURITY_PASSWORD_LENGTH_MIN, SECURITY_PASSWORD_COMPLEXITY_CHECKER ("zxcvbn") and
SECURITY_ZXCVBN_MINIMUM_SCORE. zxcvbn scores a common password, or one built from the
account's e-mail address or name (passed as known words), 0 or 1.
"""

import re

from flask import current_app
from flask_babel import gettext as _
from flask_security import PasswordUtil
from flask_security.utils import password_complexity_validator, password_length_validator


class PasswordPolicy(PasswordUtil):
    """Installed as Flask-Security's password_util_cls; zxcvbn's own hints exist only in English."""

    def validate(self, password: str, is_register: bool, **kwargs) -> tuple[list | None, str]:
        normalized = self.normalize(password)
        too_short = password_length_validator(normalized)
        if too_short:
            return too_short, normalized
        if is_identity_based(
            normalized, _identity(is_register, kwargs)
        ) or password_complexity_validator(normalized, is_register, **kwargs):
            return [
                _(
                    "This password is too easy to guess: avoid common passwords, your e-mail address and "
                    "your name; a few unrelated words make a strong one."
                )
            ], normalized
        return None, normalized


def _identity(is_register: bool, kwargs: dict) -> list[str]:
    if is_register:
        return [kwargs.get("email") or "", kwargs.get("display_name") or ""]
    user = kwargs.get("user")
    return [getattr(user, "email", "") or "", getattr(user, "display_name", "") or ""]


def _letters(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())


def is_identity_based(password: str, identity: list[str]) -> bool:
    """The password contains the e-mail address, its part before @ or the name (4+ letters,
    ignoring case and separators): zxcvbn only catches these when they make up most of it."""
    email, name = (identity + ["", ""])[:2]
    words = {_letters(email), _letters(email.split("@")[0]), _letters(name)}
    plain = _letters(password)
    return any(len(word) >= 4 and word in plain for word in words)


def password_problems(password: str, *, email: str, name: str = "") -> list[str]:
    """What is wrong with a new password for this account; empty when it is acceptable."""
    problems, _normalized = current_app.extensions["security"]._password_util.validate(
        password, True, email=email, display_name=name
    )
    return [str(p) for p in problems or []]
