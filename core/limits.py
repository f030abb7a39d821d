"""Bounds of the domain every layer checks against: plain values, importable from pure code
(rules, the planner) and from schemas alike."""

# The one bound of every quantity of a material, in its catalog unit (顶, 件, 箱, 吨, 升...):
# what a lot holds, a movement moves, a count finds, a report row states, a demand asks for,
# a plan line or shipment carries, a supplier offers. A billion units is far above any real
# lot (the largest, fuel in litres, is ~10^8: a 100,000 m³ tank farm), keeps each of those
# values in a 32-bit column (PostgreSQL `integer`, max 2,147,483,647) with room for a
# difference of two of them, and keeps the sum of a million lots (10^15) exact in a float64
# (the planner's LP, JSON numbers read by JavaScript). docs/registry.md, "Quantity bound".
MAX_QUANTITY = 10**9
