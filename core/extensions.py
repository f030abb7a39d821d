"""Extensions, created unbound; `create_app` initialises them."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_security import Security
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .outbox_mail import OutboxMailUtil
from .passwords import PasswordPolicy
from .schemas import ProblemSchema

# Stable constraint names so Alembic migrations can alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# join_transaction_mode only matters when a session is bound to a Connection that is already in
# a transaction (the per-test rollback fixture); bound to an Engine it changes nothing.
class ProblemApi(Api):
    """flask-smorest's Api, documenting errors as RFC 9457 problems."""

    ERROR_SCHEMA = ProblemSchema

    def register_blueprint(self, blp, *, parameters=None, **options):
        """flask-smorest's registration, documenting only the routes the deployment role serves
        (core/roles.py: the others were never added to the app). It swaps the blueprint's private
        `_docs` (flask-smorest pinned below 0.48) for the served part during the documentation."""
        from .roles import unserved

        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        everything = blp._docs
        blp._docs = {
            e: d for e, d in everything.items() if f"{name}.{e}" not in unserved(self._app)
        }
        try:
            if blp._docs:
                blp.register_views_in_doc(
                    self, self._app, self.spec, name=name, parameters=parameters
                )
                self.spec.tag({"name": name, "description": blp.description})
        finally:
            blp._docs = everything

    def _register_responses(self):
        """flask-smorest's error responses, under the media type they really have."""
        default, self.DEFAULT_RESPONSE_CONTENT_TYPE = (
            self.DEFAULT_RESPONSE_CONTENT_TYPE,
            "application/problem+json",
        )
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = default


db = SQLAlchemy(model_class=Base, session_options={"join_transaction_mode": "create_savepoint"})
migrate = Migrate()
api = ProblemApi()
security = Security(password_util_cls=PasswordPolicy, mail_util_cls=OutboxMailUtil)
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
