"""Configuration classes. Values come from the environment; `create_app` picks one by APP_ENV."""

import os
import re
from pathlib import Path
from datetime import timedelta

DEFAULT_SECRET = "dev-only-not-secret"


DEPLOYMENT_ROLES = ("combined", "internal", "public")


class Config:
    SECRET_KEY = DEFAULT_SECRET
    # None means: an SQLite file under the instance folder (resolved in create_app).
    SQLALCHEMY_DATABASE_URI = None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    DEBUG = False
    TESTING = False

    # Sessions: short-lived, HttpOnly, SameSite=Lax; validated server-side on every request.
    SESSION_COOKIE_NAME = "emreserve_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    SESSION_IDLE_TIMEOUT = timedelta(minutes=60)
    REMEMBER_COOKIE_HTTPONLY = True

    # Flask-Security
    SECURITY_PASSWORD_HASH = "argon2"
    SECURITY_PASSWORD_SALT = DEFAULT_SECRET
    SECURITY_TOKEN_AUTHENTICATION_HEADER = "Authentication-Token"
    # Flask-Security also reads a token under this key from the query string and a JSON body;
    # core/tokens.py refuses both (400) and keeps the value out of every log.
    SECURITY_TOKEN_AUTHENTICATION_KEY = "auth_token"
    SECURITY_TOKEN_MAX_AGE = timedelta(days=90)
    SECURITY_DEFAULT_REMEMBER_ME = False
    SECURITY_RETURN_GENERIC_RESPONSES = True
    SECURITY_LOGIN_USER_TEMPLATE = "security/login.html"
    SECURITY_POST_LOGIN_VIEW = "core.home"
    SECURITY_POST_LOGOUT_VIEW = "security.login"
    SECURITY_TRACKABLE = True
    SECURITY_FLASH_MESSAGES = True
    SECURITY_LOGOUT_METHODS = ["POST"]
    # A logout must carry the page's CSRF token (the menu's 退出登录 is a small form with it); without
    # one, a form post gets a confirmation page (security/logout_user.html), a JSON call 400.
    SECURITY_LOGOUT_CSRF = True
    # Forms carry Flask-WTF tokens; JSON calls authenticated by a session must send X-CSRF-Token;
    # token-authenticated API clients are not exposed to CSRF and are exempt.
    WTF_CSRF_CHECK_DEFAULT = False
    SECURITY_CSRF_PROTECT_MECHANISMS = ["session", "basic"]
    SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS = False
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session, which is short

    # Flask-Limiter: in-process memory by default; set RATELIMIT_STORAGE_URI for several workers.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"

    # Babel
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    # Flask-Security's catalog first, then ours (core/translations) filling what it lacks.
    SECURITY_I18N_DIRNAME = ["builtin", str(Path(__file__).resolve().parent / "translations")]
    # The province's zone: every time a person reads (pages, exports, the after-action report) is
    # shown in it; create_app makes it Babel's zone too. The database keeps UTC.
    DISPLAY_TIMEZONE = "Asia/Shanghai"
    BABEL_DEFAULT_TIMEZONE = DISPLAY_TIMEZONE
    LANGUAGES = {"zh_Hans_CN": "中文", "en": "English"}

    # flask-smorest / OpenAPI
    API_TITLE = "Emergency materials reserve API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui/"
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {
                "apiToken": {"type": "apiKey", "in": "header", "name": "Authentication-Token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "emreserve_session"},
            }
        },
        "security": [{"apiToken": []}, {"session": []}],
    }

    IDEMPOTENCY_TTL = timedelta(hours=24)
    # A first request still running after this is taken as dead and its key may run again:
    # keep it above the longest a request may take (the gunicorn worker timeout).
    IDEMPOTENCY_PENDING_SECONDS = 300

    # Files of refused (invalid) and unconfirmed (discarded) report submissions: dropped after
    # this many days, and each agency keeps at most this many MB of them (the newest).
    SUBMISSION_FILE_RETENTION_DAYS = 30
    SUBMISSION_FILE_QUOTA_MB = 200

    # Public portal: uploads live outside the web root (None: <instance>/uploads); public forms are rate-limited.
    PORTAL_UPLOAD_DIR = None
    PORTAL_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    PORTAL_REGISTER_RATE_LIMIT = "3 per minute;20 per hour"  # registrations that went through
    PORTAL_REGISTER_FAILURE_RATE_LIMIT = (
        "20 per minute;100 per hour"  # refused tries: a person correcting the form
    )
    PORTAL_FORM_RATE_LIMIT = "5 per minute;30 per hour"
    # Anonymous portal answers kept in each worker (seconds, at most their max-age); 0: off.
    PUBLIC_CACHE_SECONDS = 60
    # Dashboard statistics kept in each worker per access scope and data version (core/kept.py); 0: off.
    SCOPED_CACHE_SECONDS = 60
    DEMO_PASSWORD = "Demo-2026!"

    # E-mail of warning digests (None: not sent, messages stay queued in the outbox).
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_SENDER = "emreserve@localhost"
    # The scheduler process (flask scheduler run): scan interval, digest hour (local time).
    WARNING_SCAN_MINUTES = 15
    DIGEST_HOUR = 8
    SCHEDULER_LOCK_FILE = None  # SQLite: <instance>/scheduler.lock

    # Dispatch planning (docs/dispatch.md): road speed estimate, road distance per great-circle
    # km, loading time, the planner's policy (stage order, equity tolerance; docs/planner.md), the
    # tonnage a depot without registered vehicles (or a supplier) can send, four-eyes approval, and
    # the problem size above which the planner runs as a background job (the worker process).
    DISPATCH_SPEED_KMH = 60.0
    DISPATCH_ROAD_FACTOR = 1.3
    DISPATCH_HANDLING_H = 1.0
    DISPATCH_POLICY_ORDER = ("efficacy", "equity", "speed", "cost")
    DISPATCH_EQUITY_TOLERANCE = 0.02
    DISPATCH_DEFAULT_CAPACITY_T = 20.0
    DISPATCH_SUPPLIER_CAPACITY_T = 30.0
    DISPATCH_FOUR_EYES = True
    DISPATCH_BACKGROUND_ARCS = 2_000_000
    # Readiness (docs/readiness.md): the nightly assessment's hour (local), the score under which a
    # county is a to-do, unit prices for purchases {material code: yuan} (a material without one
    # is never recommended for purchase), a transfer's cost per tonne-km, and how many depots
    # nearest each affected county may receive stock.
    READINESS_NIGHTLY_HOUR = 2
    READINESS_WARN_THRESHOLD = 60.0
    READINESS_UNIT_PRICES: dict = {}
    READINESS_TRANSFER_COST_PER_TKM = 1.0
    READINESS_NEAREST_DEPOTS = 2
    # The 装车方案 (docs/dispatch.md): the router's time limit, the problem size (deliveries ×
    # vehicles) above which it runs as a background job, and an optional road-network service
    # (OSRM-compatible /table/v1/driving/; unset: straight lines × DISPATCH_ROAD_FACTOR).
    DISPATCH_ROUTE_TIME_LIMIT_S = 10.0
    DISPATCH_ROUTE_BACKGROUND_PAIRS = 40_000
    DISPATCH_OSRM_URL = None
    DISPATCH_OSRM_TIMEOUT_S = 5.0

    # Response headers (core/hardening.py). Scripts and styles only from our origin: no inline
    # <script>, no on*= handlers, no style attributes in templates. HSTS only where TLS is certain.
    CONTENT_SECURITY_POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data: blob:; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    REFERRER_POLICY = "same-origin"
    # A base map under the offline boundaries (off by default: no request leaves the machine):
    # a tile URL template with its key, e.g. a provincial map service's
    # "https://t{s}.example.gov.cn/vec_w/wmts?...&tk=KEY", and its attribution (审图号). When set,
    # the CSP's img-src admits that host, and only it (core/hardening.py).
    MAP_TILE_URL = None
    MAP_TILE_ATTRIBUTION = ""
    HSTS_SECONDS = 0
    TRUSTED_PROXIES = 0  # reverse proxies in front whose X-Forwarded-For/-Proto/-Host are believed

    # Background jobs (core/background.py, run by `flask worker run`): a running job whose worker
    # has not beaten its heartbeat for JOB_LEASE_SECONDS is marked failed (retryable); the worker
    # looks for queued jobs every JOB_POLL_SECONDS. JOB_HOLD_FILE is a test hook, never set it.
    JOB_LEASE_SECONDS = 60
    JOB_POLL_SECONDS = 2.0
    JOB_HOLD_FILE = None
    # Reports (docs/reporting.md): a file whose text (a workbook's sheets once inflated, read from
    # its directory) is larger than REPORT_INLINE_MAX_BYTES is checked by the worker, and a
    # report of more than REPORT_INLINE_APPLY_ROWS rows is applied by it; smaller ones at once.
    REPORT_INLINE_MAX_BYTES = 1_000_000
    REPORT_INLINE_APPLY_ROWS = 5_000
    # Exports (core/export_jobs.py): more rows than EXPORT_INLINE_MAX_ROWS are written by the worker
    # (the inline export refuses them with the way there); its file is kept EXPORT_FILE_HOURS; a
    # user has at most EXPORT_JOBS_PER_USER exports queued or running.
    EXPORT_INLINE_MAX_ROWS = 20_000
    EXPORT_FILE_HOURS = 24
    EXPORT_JOBS_PER_USER = 3

    # Two networks (docs/operations.md, "Two networks"): `combined` serves everything from one app
    # and one database (the demo); `internal` (private network) serves all but the public pages
    # and `public` (extranet) only the portal, each with its own database, exchanging signed
    # bundles through drop directories (core/exchange/) every EXCHANGE_SECONDS.
    DEPLOYMENT_ROLE = "combined"
    EXCHANGE_OUTBOX_DIR = None  # where this side drops what it sends (the gateway takes it)
    EXCHANGE_INBOX_DIR = None  # where the gateway puts what the other side sent
    EXCHANGE_ARCHIVE_DIR = None  # copies of what was sent, for `flask exchange resend`
    EXCHANGE_SIGNING_KEY = None  # this side's private key file (PEM, mode 600)
    EXCHANGE_VERIFY_KEYS = ""  # the other side's public key files, comma-separated (rotation)
    EXCHANGE_MAX_BUNDLE_BYTES = 64 * 1024 * 1024
    EXCHANGE_SECONDS = 15

    # Logging (core/logs.py): level, and "text" or "json" (one JSON object per line).
    LOG_LEVEL = "INFO"
    LOG_FORMAT = "text"
    LOG_HANDLER = True

    # /metrics (core/metrics.py): Prometheus text format; read from loopback, or with this bearer token.
    METRICS_ENABLED = True
    METRICS_TOKEN = None

    # Password policy (Flask-Security): length, and zxcvbn's guessability score, which is 0 for
    # a common password or one made of the user's e-mail or name.
    SECURITY_PASSWORD_LENGTH_MIN = 10
    SECURITY_PASSWORD_COMPLEXITY_CHECKER = "zxcvbn"
    SECURITY_ZXCVBN_MINIMUM_SCORE = 3
    # Flask-Security's own header comes out as "private=True, no-store=True"; core/hardening.py
    # sends a well-formed no-store on its pages instead.
    SECURITY_CACHE_CONTROL = {}

    # Accounts (core/accounts.py): users change their password (an issued one at the first login)
    # and reset it through a link e-mailed via the outbox; the link works once, within 2 hours.
    SECURITY_CHANGEABLE = True
    SECURITY_RECOVERABLE = True
    SECURITY_RESET_PASSWORD_WITHIN = timedelta(hours=2)
    SECURITY_EMAIL_HTML = False  # the outbox sends plain text
    # No DNS lookup of the address's domain: on the private network there is none, and with it
    # every reset request failed as "invalid address" (answered generically, so nobody noticed).
    SECURITY_EMAIL_VALIDATOR_ARGS = {"check_deliverability": False}
    SECURITY_POST_CHANGE_VIEW = "core.home"
    SECURITY_CHANGE_PASSWORD_TEMPLATE = "security/change_password.html"
    SECURITY_FORGOT_PASSWORD_TEMPLATE = "security/forgot_password.html"
    SECURITY_RESET_PASSWORD_TEMPLATE = "security/reset_password.html"
    PASSWORD_RESET_RATE_LIMIT = "5 per minute;20 per hour"


def _flag(value: str) -> bool:
    word = value.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{value!r} is not one of 1/0, true/false, yes/no, on/off")


# Environment variable -> config key, with a converter. Read when the app is created, not at import.
ENVIRONMENT = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "SECURITY_PASSWORD_SALT": ("SECURITY_PASSWORD_SALT", str),
    "MAX_CONTENT_LENGTH": ("MAX_CONTENT_LENGTH", int),
    "SESSION_IDLE_MINUTES": ("SESSION_IDLE_TIMEOUT", lambda v: timedelta(minutes=int(v))),
    "API_TOKEN_DAYS": ("SECURITY_TOKEN_MAX_AGE", lambda v: timedelta(days=int(v))),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "LOGIN_RATE_LIMIT": ("LOGIN_RATE_LIMIT", str),
    "PASSWORD_RESET_RATE_LIMIT": ("PASSWORD_RESET_RATE_LIMIT", str),
    "DEMO_PASSWORD": ("DEMO_PASSWORD", str),
    "PORTAL_UPLOAD_DIR": ("PORTAL_UPLOAD_DIR", str),
    "PORTAL_UPLOAD_MAX_BYTES": ("PORTAL_UPLOAD_MAX_BYTES", int),
    "PORTAL_REGISTER_RATE_LIMIT": ("PORTAL_REGISTER_RATE_LIMIT", str),
    "MAP_TILE_URL": ("MAP_TILE_URL", str),
    "MAP_TILE_ATTRIBUTION": ("MAP_TILE_ATTRIBUTION", str),
    "PORTAL_REGISTER_FAILURE_RATE_LIMIT": ("PORTAL_REGISTER_FAILURE_RATE_LIMIT", str),
    "PORTAL_FORM_RATE_LIMIT": ("PORTAL_FORM_RATE_LIMIT", str),
    "PUBLIC_CACHE_SECONDS": ("PUBLIC_CACHE_SECONDS", int),
    "SCOPED_CACHE_SECONDS": ("SCOPED_CACHE_SECONDS", int),
    "MAIL_SERVER": ("MAIL_SERVER", str),
    "MAIL_PORT": ("MAIL_PORT", int),
    "MAIL_USE_TLS": ("MAIL_USE_TLS", _flag),
    "MAIL_USERNAME": ("MAIL_USERNAME", str),
    "MAIL_PASSWORD": ("MAIL_PASSWORD", str),
    "MAIL_SENDER": ("MAIL_SENDER", str),
    "WARNING_SCAN_MINUTES": ("WARNING_SCAN_MINUTES", int),
    "SUBMISSION_FILE_RETENTION_DAYS": ("SUBMISSION_FILE_RETENTION_DAYS", int),
    "SUBMISSION_FILE_QUOTA_MB": ("SUBMISSION_FILE_QUOTA_MB", int),
    "DIGEST_HOUR": ("DIGEST_HOUR", int),
    "SCHEDULER_LOCK_FILE": ("SCHEDULER_LOCK_FILE", str),
    "DISPLAY_TIMEZONE": ("DISPLAY_TIMEZONE", str),
    "DISPATCH_FOUR_EYES": ("DISPATCH_FOUR_EYES", _flag),
    "DISPATCH_DEFAULT_CAPACITY_T": ("DISPATCH_DEFAULT_CAPACITY_T", float),
    "DISPATCH_OSRM_URL": ("DISPATCH_OSRM_URL", str),
    "DISPATCH_OSRM_TIMEOUT_S": ("DISPATCH_OSRM_TIMEOUT_S", float),
    "DISPATCH_ROUTE_TIME_LIMIT_S": ("DISPATCH_ROUTE_TIME_LIMIT_S", float),
    "HSTS_SECONDS": ("HSTS_SECONDS", int),
    "TRUSTED_PROXIES": ("TRUSTED_PROXIES", int),
    "METRICS_ENABLED": ("METRICS_ENABLED", _flag),
    "METRICS_TOKEN": ("METRICS_TOKEN", str),
    "JOB_LEASE_SECONDS": ("JOB_LEASE_SECONDS", int),
    "JOB_POLL_SECONDS": ("JOB_POLL_SECONDS", float),
    "JOB_HOLD_FILE": ("JOB_HOLD_FILE", str),
    "REPORT_INLINE_MAX_BYTES": ("REPORT_INLINE_MAX_BYTES", int),
    "REPORT_INLINE_APPLY_ROWS": ("REPORT_INLINE_APPLY_ROWS", int),
    "EXPORT_INLINE_MAX_ROWS": ("EXPORT_INLINE_MAX_ROWS", int),
    "EXPORT_FILE_HOURS": ("EXPORT_FILE_HOURS", int),
    "EXPORT_JOBS_PER_USER": ("EXPORT_JOBS_PER_USER", int),
    "LOG_LEVEL": ("LOG_LEVEL", str),
    "LOG_FORMAT": ("LOG_FORMAT", str),
    "FLASK_DEBUG": ("DEBUG", _flag),
    "DEPLOYMENT_ROLE": ("DEPLOYMENT_ROLE", str),
    "EXCHANGE_OUTBOX_DIR": ("EXCHANGE_OUTBOX_DIR", str),
    "EXCHANGE_INBOX_DIR": ("EXCHANGE_INBOX_DIR", str),
    "EXCHANGE_ARCHIVE_DIR": ("EXCHANGE_ARCHIVE_DIR", str),
    "EXCHANGE_SIGNING_KEY": ("EXCHANGE_SIGNING_KEY", str),
    "EXCHANGE_VERIFY_KEYS": ("EXCHANGE_VERIFY_KEYS", str),
    "EXCHANGE_MAX_BUNDLE_BYTES": ("EXCHANGE_MAX_BUNDLE_BYTES", int),
    "EXCHANGE_SECONDS": ("EXCHANGE_SECONDS", int),
}


# Secrets may contain any character; every other value is checked for a trailing comment.
_FREE_TEXT = ("SECRET", "SALT", "PASSWORD", "TOKEN")


def from_environment(environ=os.environ) -> dict:
    """The config keys set by the environment. A value that cannot be read stops start-up with
    a message naming the variable: systemd's EnvironmentFile (and docker's env_file) keep an
    inline `# comment` as part of the value, so `TRUSTED_PROXIES=1  # nginx` is refused here
    rather than crashing later or being read as something else."""
    config, problems = {}, []
    for name, (key, convert) in ENVIRONMENT.items():
        if name not in environ:
            continue
        value = environ[name]
        if not any(word in name for word in _FREE_TEXT) and re.search(r"(^|\s)#", value):
            problems.append(
                f"{name}={value!r} has an inline comment: environment files keep it as part of "
                "the value; put comments on lines of their own"
            )
            continue
        try:
            config[key] = convert(value)
        except ValueError as exc:
            problems.append(f"{name}={value!r} cannot be read: {exc}")
    if problems:
        raise RuntimeError("invalid environment: " + "; ".join(problems))
    return config


class DevelopmentConfig(Config):
    pass


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SECURITY_PASSWORD_SALT = "test-salt"
    # Cheap hashes keep the suite fast; argon2 is still the scheme under test.
    SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS = {
        "argon2__rounds": 1,
        "argon2__memory_cost": 512,
        "argon2__parallelism": 1,
    }
    RATELIMIT_ENABLED = True
    PUBLIC_CACHE_SECONDS = 0  # tests see each change at once (the cache has its own test)
    SCOPED_CACHE_SECONDS = 0  # likewise (tests/test_load_paths.py turns it on)
    LOG_HANDLER = False  # pytest captures the output (tests/test_logs.py installs it)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS_SECONDS = 365 * 24 * 3600

    @classmethod
    def problems(cls, config: dict) -> list[str]:
        """What makes this configuration unsafe to serve; empty when it may start."""
        found = []
        for key in ("SECRET_KEY", "SECURITY_PASSWORD_SALT"):
            value = config.get(key)
            if not value or value == DEFAULT_SECRET or len(value) < 32:
                found.append(
                    f"{key} is missing, the development default, or shorter than 32 characters"
                )
        if config.get("DEBUG"):
            found.append("DEBUG must be off in production")
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            found.append("DATABASE_URL must be set in production")
        if config.get("JOB_HOLD_FILE"):
            found.append("JOB_HOLD_FILE is a test hook and must not be set in production")
        return found


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}
