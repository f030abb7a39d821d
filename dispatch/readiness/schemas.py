"""Readiness request and response shapes (bounds in docs/api.md)."""

from marshmallow import Schema, fields, validate

from core.schemas import JobSchema, UtcDateTime

from ..rules import LEVELS
from .models import HAZARDS, POPULATION_RULES
from .rules import MAX_POPULATION
from .scenarios import MAX_COUNTIES
from .services import MAX_BUDGET, MAX_SCENARIOS


class CountySchema(Schema):
    region_code = fields.Str(required=True, validate=validate.Regexp(r"^\d{6}$"))
    population = fields.Int(required=True, validate=validate.Range(0, MAX_POPULATION))
    severity = fields.Int(required=True, validate=validate.Range(1, 3))
    name = fields.Method("_name", dump_only=True)

    def _name(self, county):
        return county.region.name


class ScenarioSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(1, 100))
    hazard = fields.Str(required=True, validate=validate.OneOf(HAZARDS))
    level = fields.Str(required=True, validate=validate.OneOf(LEVELS))
    plan_id = fields.Int(load_default=None, allow_none=True)
    population_rule = fields.Str(load_default="entered", validate=validate.OneOf(POPULATION_RULES))
    epicentre_lat = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(-90, 90)
    )
    epicentre_lon = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(-180, 180)
    )
    magnitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(3, 9))
    is_standard = fields.Bool(load_default=True)
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))
    counties = fields.List(
        fields.Nested(CountySchema), load_default=list, validate=validate.Length(max=MAX_COUNTIES)
    )
    updated_at = UtcDateTime(dump_only=True)


class AssessSchema(Schema):
    scenario_ids = fields.List(
        fields.Int(), required=True, validate=validate.Length(1, MAX_SCENARIOS)
    )
    budget = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(0, MAX_BUDGET)
    )


class RunSummarySchema(Schema):
    id = fields.Int()
    created_at = UtcDateTime()
    score = fields.Float()
    nightly = fields.Bool()


class ReadinessJobSchema(JobSchema):
    """An assessment job: its runs and, with a budget, the recommendations, once done."""

    result = fields.Dict(allow_none=True)
