"""Use cases of the public portal, one module per concept. Each function commits once and
raises core.errors domain errors. Reserve data reaches the portal only as public aggregates
(overview.py)."""
