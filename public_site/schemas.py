"""Request and response shapes of the public portal (shape and field checks only).

Public response schemas are allow-lists: a field not named here never reaches the public.
Field errors are Chinese-first like every other message: `N_` marks a message that is
translated when marshmallow formats it, inside the request.
"""

from flask_babel import gettext
from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from reserve.rules import MAX_QUANTITY

from .models import DemandStatus, FeedbackCategory, NoticeKind
from .rules import REVIEW_OUTCOME


class Msg(str):
    """An English msgid that marshmallow formats into the current language."""

    def format(self, *args, **kwargs):
        return gettext(str(self)).format(*args, **kwargs)


def N_(message: str) -> Msg:
    return Msg(message)


FIELD_MESSAGES = {
    "required": N_("This field is required."),
    "null": N_("This field is required."),
    "invalid": N_("Not a valid value."),
    "too_large": N_("The number is too large."),
}


class FormSchema(Schema):
    """Loads HTML forms and JSON alike, with messages in the caller's language. Unknown keys
    (the CSRF token, buttons) are dropped."""

    class Meta:
        unknown = EXCLUDE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for key in field.error_messages.keys() & FIELD_MESSAGES.keys():
                if not isinstance(field.error_messages[key], Msg):  # a field's own message wins
                    field.error_messages[key] = FIELD_MESSAGES[key]

    @pre_load
    def prepare(self, data, **_kwargs):
        """Blank inputs are absent; text is trimmed. HTML forms go through `from_form` first."""
        if hasattr(data, "getlist"):
            data = self.from_form(data)
        if not isinstance(data, dict):
            return data
        return {
            k: (v.strip() if isinstance(v, str) else v)
            for k, v in data.items()
            if not (isinstance(v, str) and not v.strip())
        }

    def from_form(self, form) -> dict:
        return _plain(form)


def _plain(data) -> dict:
    """A dict from a MultiDict (lists for repeated keys) or a dict."""
    if hasattr(data, "getlist"):
        return {
            k: (data.getlist(k) if len(data.getlist(k)) > 1 else data.get(k)) for k in data.keys()
        }
    return dict(data)


def string(max_length: int, *, required: bool = True, min_length: int = 1, **kwargs):
    return fields.Str(
        required=required,
        validate=validate.Length(
            min=min_length, max=max_length, error=N_("Between {min} and {max} characters.")
        ),
        **kwargs,
    )


def count(*, required: bool = True, maximum: int = MAX_QUANTITY, minimum: int = 0, **kwargs):
    return fields.Int(
        required=required,
        strict=False,
        validate=validate.Range(min=minimum, max=maximum, error=N_("Between {min} and {max}.")),
        **kwargs,
    )


def choice(values, **kwargs):
    return fields.Str(
        validate=validate.OneOf(list(values), error=N_("Choose one of the listed values.")),
        **kwargs,
    )


REGION_CODE = validate.Regexp(r"^\d{6}$", error=N_("A region code has 6 digits."))
HONEYPOT = {
    "load_default": None,
    "allow_none": True,
    "metadata": {"description": "Leave empty (robots fill it)."},
}


# --- suppliers -------------------------------------------------------------------------


class OfferInSchema(FormSchema):
    material_id = fields.Int(load_default=None, allow_none=True)
    material_text = string(200, required=False, load_default=None)
    unit = string(20, required=False, load_default=None)
    quantity_in_stock = count(required=False, load_default=0)
    capacity_per_day = count(required=False, load_default=0)
    lead_time_h = fields.Float(
        load_default=0,
        validate=validate.Range(min=0, max=24 * 90, error=N_("Between {min} and {max}.")),
    )
    service_regions = fields.List(fields.Str(validate=REGION_CODE), load_default=list)


class SupplierDetailsSchema(FormSchema):
    name = string(200, min_length=4)
    credit_code = string(
        60
    )  # the exact length is checked after spaces are removed, with its own message
    legal_representative = string(50)
    contact_name = string(50)
    contact_mobile = string(20, min_length=11)
    address = string(300, min_length=4)
    region_code = fields.Str(required=True, validate=REGION_CODE)
    offers = fields.List(
        fields.Nested(OfferInSchema),
        required=True,
        validate=validate.Length(min=1, max=20, error=N_("Name between {min} and {max} offers.")),
    )
    website = fields.Str(**HONEYPOT)

    def from_form(self, form) -> dict:
        """HTML forms send offers as offers-0-material_id, offers-0-service_regions (repeated)...;
        rows left empty are dropped."""
        flat = {k: v for k, v in _plain(form).items() if not k.startswith("offers-")}
        rows: dict[int, dict] = {}
        for key in form.keys():
            parts = key.split("-", 2)
            if len(parts) == 3 and parts[0] == "offers" and parts[1].isdigit():
                values = [v for v in form.getlist(key) if v.strip()]
                if values:
                    many = parts[2] == "service_regions"
                    rows.setdefault(int(parts[1]), {})[parts[2]] = values if many else values[0]
        flat["offers"] = [
            rows[i] for i in sorted(rows) if set(rows[i]) - {"service_regions", "lead_time_h"}
        ]
        return flat


class SupplierRegistrationSchema(SupplierDetailsSchema):
    email = fields.Email(
        required=True, error_messages={"invalid": N_("Not a valid email address.")}
    )
    password = string(128, min_length=10)
    password_confirm = fields.Str(required=True)


class ReviewSchema(FormSchema):
    action = choice(REVIEW_OUTCOME, required=True)
    reason = string(500, required=False, load_default=None)


class OfferMappingSchema(FormSchema):
    material_id = fields.Int(required=True)


class SupplierQuerySchema(FormSchema):
    status = choice(["pending", "changes_requested", "approved", "rejected"], load_default=None)


class RegionBriefSchema(Schema):
    code = fields.Str()
    name = fields.Str()


class MaterialBriefSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    unit = fields.Str()


class PublicOfferSchema(Schema):
    """What an approved enterprise supplies: the material and where it delivers."""

    material = fields.Function(lambda o: o.material.name if o.material else o.material_text)
    service_regions = fields.List(fields.Str(), attribute="region_codes")


class PublicSupplierSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    region = fields.Nested(RegionBriefSchema)
    offers = fields.List(fields.Nested(PublicOfferSchema))


class OfferSchema(Schema):
    id = fields.Int()
    material = fields.Nested(MaterialBriefSchema, allow_none=True)
    material_text = fields.Str(allow_none=True)
    unit = fields.Str(allow_none=True)
    quantity_in_stock = fields.Int()
    capacity_per_day = fields.Int()
    lead_time_h = fields.Float()
    service_regions = fields.List(fields.Str(), attribute="region_codes")
    is_planning_source = fields.Bool()


class DocumentSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    original_name = fields.Str()
    media_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    uploaded_at = fields.DateTime()


class SupplierSchema(Schema):
    """The whole registration: for administrators and the enterprise itself."""

    id = fields.Int()
    name = fields.Str()
    credit_code = fields.Str()
    legal_representative = fields.Str()
    contact_name = fields.Str()
    contact_mobile = fields.Str()
    address = fields.Str()
    region = fields.Nested(RegionBriefSchema)
    status = fields.Str()
    review_reason = fields.Str(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    submitted_at = fields.DateTime()
    offers = fields.List(fields.Nested(OfferSchema))
    documents = fields.List(fields.Nested(DocumentSchema))


class PlanningSourceSchema(Schema):
    offer_id = fields.Int()
    supplier_id = fields.Int()
    supplier_name = fields.Str()
    credit_code = fields.Str()
    material_id = fields.Int()
    material_code = fields.Str()
    unit = fields.Str()
    reserve_type = fields.Str(
        metadata={"description": "agreement (stock on hand) or capacity (production only)"}
    )
    quantity_in_stock = fields.Int()
    capacity_per_day = fields.Int()
    lead_time_h = fields.Float()
    service_regions = fields.List(fields.Str())


# --- notices ---------------------------------------------------------------------------


class NoticeInSchema(FormSchema):
    kind = choice([k.value for k in NoticeKind], required=True)
    title = string(200)
    body = string(20_000)
    published = fields.Bool(
        load_default=False, truthy={"on", "1", "true", "y", True}, falsy={"", "0", "false", False}
    )


class PublicNoticeSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    title = fields.Str()
    body = fields.Str()
    published_at = fields.DateTime(allow_none=True)


class NoticeSchema(PublicNoticeSchema):
    published = fields.Bool()
    created_at = fields.DateTime()


class NoticeQuerySchema(FormSchema):
    kind = choice([k.value for k in NoticeKind], load_default=None)


# --- the supply/demand board -----------------------------------------------------------


class DemandInSchema(FormSchema):
    title = string(200)
    material_id = fields.Int(load_default=None, allow_none=True)
    material_text = string(200, required=False, load_default=None)
    unit = string(20)
    quantity = count(minimum=1)
    region_code = fields.Str(load_default=None, validate=REGION_CODE)
    needed_by = fields.Date(load_default=None, error_messages={"invalid": N_("Not a valid date.")})
    description = string(5000, required=False, load_default=None)


class BoardOfferInSchema(FormSchema):
    offerer_name = string(200, min_length=2)
    contact = string(100, min_length=5)
    quantity = count(minimum=1)
    note = string(500, required=False, load_default=None)
    website = fields.Str(**HONEYPOT)


class CallOfferInSchema(FormSchema):
    """An approved enterprise's answer to a call for supply (供需发布)."""

    quantity = count(minimum=1)
    price_yuan = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=1e9, error=N_("Between {min} and {max}.")),
    )
    lead_time_h = fields.Float(
        required=True,
        validate=validate.Range(min=0, max=24 * 90, error=N_("Between {min} and {max}.")),
    )
    from_region_code = fields.Str(required=True, validate=REGION_CODE)
    note = string(500, required=False, load_default=None)
    website = fields.Str(**HONEYPOT)


class DecisionSchema(FormSchema):
    decision = choice(["match", "decline"], required=True)
    note = string(300, required=False, load_default=None)


class ProgressSchema(Schema):
    quantity = fields.Int()
    matched = fields.Int()
    offered = fields.Int()
    remaining = fields.Int()
    percent = fields.Int()


class PublicDemandSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    material = fields.Function(lambda d: d.material.name if d.material else d.material_text)
    unit = fields.Str()
    quantity = fields.Int()
    region = fields.Nested(RegionBriefSchema, allow_none=True)
    needed_by = fields.Date(allow_none=True)
    description = fields.Str()
    status = fields.Str()
    source_kind = fields.Str()
    created_at = fields.DateTime()
    progress = fields.Nested(ProgressSchema)


class BoardOfferSchema(Schema):
    id = fields.Int()
    demand_id = fields.Int()
    supplier_id = fields.Int(allow_none=True)
    offerer_name = fields.Str()
    contact = fields.Str()
    quantity = fields.Int()
    note = fields.Str()
    status = fields.Str()
    matched_quantity = fields.Int()
    decision_note = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class OfferReceiptSchema(Schema):
    """What the public gets back for an offer: that it arrived, nothing of other offers."""

    received = fields.Bool()
    demand_id = fields.Int()


class DemandQuerySchema(FormSchema):
    status = choice([s.value for s in DemandStatus], load_default=None)


# --- feedback --------------------------------------------------------------------------


class FeedbackInSchema(FormSchema):
    category = choice([c.value for c in FeedbackCategory], required=True)
    text = string(2000, min_length=5)
    contact = string(100, required=False, load_default=None)
    website = fields.Str(**HONEYPOT)


class AnswerSchema(FormSchema):
    answer = string(5000)
    is_public = fields.Bool(
        load_default=False, truthy={"on", "1", "true", "y", True}, falsy={"", "0", "false", False}
    )


class PublicFeedbackSchema(Schema):
    id = fields.Int()
    category = fields.Str()
    text = fields.Str()
    answer = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)


class FeedbackSchema(PublicFeedbackSchema):
    contact = fields.Str(allow_none=True)
    is_public = fields.Bool()


class FeedbackReceiptSchema(Schema):
    received = fields.Bool()


# --- public aggregates -----------------------------------------------------------------


class PublicTotalSchema(Schema):
    key = fields.Str()
    label = fields.Str()
    unit = fields.Str(allow_none=True)
    quantity = fields.Int(metadata={"description": "units on hand (for a material)"})
    weight_t = fields.Float()
    materials = fields.Int(metadata={"description": "kinds of material"})
    lat = fields.Float(
        allow_none=True, metadata={"description": "the city's centroid, never a depot's location"}
    )
    lon = fields.Float(allow_none=True)


class OverviewSchema(Schema):
    weight_t = fields.Float()
    materials = fields.Int()
    cities = fields.Int()
    by_category = fields.List(fields.Nested(PublicTotalSchema))
    by_city = fields.List(fields.Nested(PublicTotalSchema))
    by_material = fields.List(fields.Nested(PublicTotalSchema))
