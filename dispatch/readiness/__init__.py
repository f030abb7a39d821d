"""Readiness (备战评估, issue 23): standard disaster scenarios, an assessment of how much of each
the stock held today covers within 12/24/48/72 hours (the planner run on a copy of the stock,
nothing reserved or moved), and the transfers and purchases that would raise the worst scenario's
coverage most for a budget. See docs/readiness.md."""
