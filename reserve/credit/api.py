"""Credit lists API (信用名单): the entries with filters, one entry with its history, an import
file, a credit-sharing partner's push (scope push:credit), an administrator's end by reversal,
a check of one code, and the daily check's hits."""

from flask import request
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.errors import Invalid
from core.pagination import PageArgsSchema, page_schema, paginate
from core.timeutil import local_today

from . import checks, services
from .schemas import (
    CheckQuerySchema,
    CheckSchema,
    EndSchema,
    EntryDetailSchema,
    EntryQuerySchema,
    EntrySchema,
    HitSchema,
    CreditPushSchema,
    RecordedSchema,
)

credit = Blueprint(
    "credit", __name__, url_prefix="/api/v1/credit", description="Credit lists (信用名单)"
)


@credit.route("/entries")
@auth_required("token", "session")
@credit.arguments(EntryQuerySchema, location="query")
@credit.arguments(PageArgsSchema, location="query", as_kwargs=True)
@credit.response(200, page_schema(EntrySchema))
def list_entries(query, page, per_page):
    """Entries, newest first; `status` is what an entry is today (in_force, not_yet, expired,
    ended). Administrators and command staff."""
    f = services.EntryFilter(**query)
    return paginate(
        services.list_entries(current_user, f),
        page,
        per_page,
        count=services.count_entries(current_user, f),
    )


@credit.route("/entries/<int:entry_id>")
@auth_required("token", "session")
@credit.response(200, EntryDetailSchema)
def get_entry(entry_id):
    return services.get_entry(current_user, entry_id)


@credit.route("/entries/import", methods=["POST"])
@auth_required("token", "session")
@credit.response(200, RecordedSchema)
def import_entries():
    """Import a list file (multipart field `file`, CSV or XLSX, headings in docs/credit.md):
    every row is checked first; any row wrong → 422 with each row's errors, nothing recorded.
    Administrators."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_("Attach the list as the multipart field 'file'."))
    return services.import_file(current_user, upload.filename, upload.read())


@credit.route("/entries/push", methods=["POST"])
@auth_required("token", "session")
@credit.arguments(CreditPushSchema)
@credit.response(200, RecordedSchema)
def push(body):
    """A credit-sharing partner pushes entries (scope `push:credit`; 1 to 1,000 per request):
    all or none, row errors as for an import. The same listing pushed again changes the entry
    and keeps the earlier values in its history."""
    return services.push_entries(current_user, body["entries"])


@credit.route("/entries/<int:entry_id>/end", methods=["POST"])
@auth_required("token", "session")
@credit.arguments(EndSchema)
@credit.response(200, EntrySchema)
def end_entry(body, entry_id):
    """End a listing by reversal, with a reason (administrators): it no longer restricts."""
    return services.end_entry(current_user, entry_id, body["reason"])


@credit.route("/check")
@auth_required("token", "session")
@credit.arguments(CheckQuerySchema, location="query")
@credit.response(200, CheckSchema)
def check(query):
    """What the lists say of one credit code today (or `on` a day)."""
    return checks.check_code(current_user, query["code"], query["on"] or local_today())


@credit.route("/hits")
@auth_required("token", "session")
@credit.arguments(PageArgsSchema, location="query", as_kwargs=True)
@credit.response(200, page_schema(HitSchema))
def list_hits(page, per_page):
    """The daily check's hits waiting for an administrator."""
    return paginate(checks.open_hits(current_user), page, per_page)


@credit.route("/hits/<int:hit_id>/acknowledge", methods=["POST"])
@auth_required("token", "session")
@credit.response(200, HitSchema)
def acknowledge_hit(hit_id):
    return checks.acknowledge_hit(current_user, hit_id)


BLUEPRINTS = [credit]
