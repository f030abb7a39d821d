from flask import Blueprint

bp = Blueprint("sharing", __name__, template_folder="templates")
