"""Editing a problem's JSON for the input tests of the planner and the router."""

import copy


def edited(data: dict, path: tuple, value) -> dict:
    """A copy of `data` with the field at `path` (a tuple of keys) set to `value`, or removed
    when `value` is KeyError."""
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data
