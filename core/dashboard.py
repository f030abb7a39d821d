"""The home page's live figures for staff. The features give them (`Feature.home`: dispatch the
active incidents, the registry the red warnings and the reporting rate), each read through the
services that scope it; core adds the user's to-dos."""

from types import SimpleNamespace

from . import features
from .todos import todo_list


def home_figures(user) -> SimpleNamespace:
    return SimpleNamespace(**features.home_figures(user), todos=todo_list(user))
