"""Use cases of the reserve registry, one module per concept. Each function commits once and
raises domain errors; access goes through core.scoping."""

from .agencies import create_agency, get_agency, list_agencies, update_agency  # noqa: F401
