"""Use cases of the reserve registry, one module per concept. Each function commits once and
raises domain errors; access goes through core.scoping."""

from core.agencies import get_agency, list_agencies  # noqa: F401  (the tree is core's; the API serves it)

from .agencies import create_agency, update_agency  # noqa: F401
