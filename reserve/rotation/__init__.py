"""Rotation (轮换) as a plan: lots due for rotation by the expiry warnings' thresholds become
items of a worklist (action, units, due date, person responsible, progress); completing a step
books the ledger movements and resolves the warning; leaders read the province's rotation
calendar. See docs/rotation.md."""
