"""The reserve registry's JSON API: one blueprint per concept, all under /api/v1."""

from .agencies import blp as agencies
from .catalog import categories, materials, aliases
from .depots import depots, regions
from .plans import blp as plans
from .stock import lots, stock
from .transport import blp as transport

BLUEPRINTS = [
    regions,
    agencies,
    depots,
    categories,
    materials,
    aliases,
    stock,
    lots,
    transport,
    plans,
]
