from flask import request
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from core.errors import Invalid
from core.pagination import PageArgsSchema, page_schema, paginate

from ..schemas import (
    AliasQuerySchema,
    AliasSchema,
    CategoryQuerySchema,
    CategorySchema,
    ImportResultSchema,
    MaterialQuerySchema,
    MaterialSchema,
    MaterialUpdateSchema,
)
from ..services import catalog as service

categories = Blueprint(
    "categories",
    __name__,
    url_prefix="/api/v1/categories",
    description="GB/T 38565 material categories (物资分类)",
)
materials = Blueprint(
    "materials",
    __name__,
    url_prefix="/api/v1/materials",
    description="Catalog materials (物资品种)",
)
aliases = Blueprint(
    "aliases",
    __name__,
    url_prefix="/api/v1/material-aliases",
    description="An agency's own names for catalog materials",
)


@categories.route("")
@categories.doc(security=[])  # public: no sign-in
@categories.arguments(CategoryQuerySchema, location="query")
@categories.arguments(PageArgsSchema, location="query", as_kwargs=True)
@categories.response(200, page_schema(CategorySchema))
def list_categories(query, page, per_page):
    """Categories (public reference data); search by name or code prefix."""
    return paginate(service.list_categories(**query), page, per_page)


@categories.route("", methods=["POST"])
@auth_required("token", "session")
@categories.arguments(CategorySchema)
@categories.response(201, CategorySchema)
def create_category(data):
    """Add a category (administrators); the code's structure and parent are checked."""
    return service.create_category(current_user, **data)


@categories.route("/<code>")
@categories.doc(security=[])  # public: no sign-in
@categories.response(200, CategorySchema)
def get_category(code):
    return service.get_category(code)


@categories.route("/import", methods=["POST"])
@auth_required("token", "session")
@categories.response(200, ImportResultSchema)
def import_categories():
    """Import the official table from a CSV or XLSX file (multipart field `file`, columns
    `code,name`): every row is checked first and nothing is imported if any row is wrong."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_("Attach the table as the multipart field 'file'."))
    return service.import_category_file(current_user, upload.filename, upload.read())


@materials.route("")
@materials.doc(security=[])  # public: no sign-in
@materials.arguments(MaterialQuerySchema, location="query")
@materials.arguments(PageArgsSchema, location="query", as_kwargs=True)
@materials.response(200, page_schema(MaterialSchema))
def list_materials(query, page, per_page):
    return paginate(service.list_materials(**query), page, per_page)


@materials.route("", methods=["POST"])
@auth_required("token", "session")
@materials.arguments(MaterialSchema)
@materials.response(201, MaterialSchema)
def create_material(data):
    return service.create_material(current_user, **data)


@materials.route("/<int:material_id>")
@materials.doc(security=[])  # public: no sign-in
@materials.response(200, MaterialSchema)
def get_material(material_id):
    return service.get_material(material_id)


@materials.route("/<int:material_id>", methods=["PATCH"])
@auth_required("token", "session")
@materials.arguments(MaterialUpdateSchema)
@materials.response(200, MaterialSchema)
def update_material(data, material_id):
    return service.update_material(current_user, material_id, **data)


@aliases.route("")
@auth_required("token", "session")
@aliases.arguments(AliasQuerySchema, location="query")
@aliases.arguments(PageArgsSchema, location="query", as_kwargs=True)
@aliases.response(200, page_schema(AliasSchema))
def list_aliases(query, page, per_page):
    return paginate(service.list_aliases(current_user, query["agency_id"]), page, per_page)


@aliases.route("", methods=["POST"])
@auth_required("token", "session")
@aliases.arguments(AliasSchema)
@aliases.response(201, AliasSchema)
def create_alias(data):
    return service.create_alias(current_user, **data)
