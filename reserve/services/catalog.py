"""The GB/T 38565 catalog: categories, materials, and agencies' own names for materials."""

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from core.policy import may_administer_system
from core.errors import Conflict, Invalid, NotAllowed, NotFound
from core.extensions import db
from core.search import contains, starts_with

from .. import rules
from ..models import Category, Material, MaterialAlias
from ..stock import rollup
from .access import require_write

MATERIAL_FIELDS = (
    "code",
    "name",
    "spec",
    "unit",
    "unit_weight_kg",
    "unit_volume_m3",
    "shelf_life_days",
    "category_code",
)


def _require_admin(user):
    if not may_administer_system(user):
        raise NotAllowed(_("Only administrators change the catalog."))


def list_categories(*, parent_code=None, level=None, q=None):
    stmt = select(Category).order_by(Category.code)
    if parent_code:
        stmt = stmt.where(Category.parent_code == parent_code)
    if level:
        stmt = stmt.where(Category.level == level)
    if q:
        stmt = stmt.where(or_(contains(Category.name, q), starts_with(Category.code, q)))
    return stmt


def get_category(code: str) -> Category:
    category = db.session.get(Category, code)
    if category is None:
        raise NotFound(_("Category %(code)s not found.", code=code))
    return category


def category_trail(code: str | None) -> list[Category]:
    """The category and its ancestors, top class first (empty for the root of the tree)."""
    trail = []
    node = get_category(code) if code else None
    while node is not None:
        trail.insert(0, node)
        node = db.session.get(Category, node.parent_code) if node.parent_code else None
    return trail


def category_errors(code: str, name: str, known: set[str]) -> list[str]:
    errors = []
    if problem := rules.category_problem(code):
        errors.append(_(problem))
    elif (parent := rules.category_parent(code)) and parent not in known:
        errors.append(_("parent category %(parent)s does not exist", parent=parent))
    if not name or not name.strip():
        errors.append(_("the name is empty"))
    return errors


def create_category(user, *, code: str, name: str, illustrative: bool = False) -> Category:
    _require_admin(user)
    if db.session.get(Category, code) is not None:
        raise Conflict(_("Category %(code)s already exists.", code=code))
    known = set(db.session.scalars(select(Category.code)))
    if errors := category_errors(code, name, known):
        raise Invalid(_("The category code is not valid."), errors={"code": errors})
    category = Category(
        code=code,
        name=name.strip(),
        level=rules.category_level(code),
        parent_code=rules.category_parent(code),
        illustrative=illustrative,
    )
    db.session.add(category)
    db.session.commit()
    return category


MAX_CATEGORY_ROWS = 10_000  # the official table has under a thousand categories
MAX_CATEGORY_TEXT = (
    4 * 2**20
)  # of text once unpacked: 10,000 rows of code and name take about 1.5 MB
MAX_IMPORT_ERRORS = 1000  # checking stops after them


def read_category_rows(filename: str, data: bytes) -> list[dict]:
    """Rows (code, name) of a CSV (UTF-8, UTF-8 with BOM, or GB18030), XLSX or XLS upload, read
    by the one hardened reader of uploads (reserve.reporting.files), keyed by the header row.
    The format is taken from the content; `filename` is only shown back."""
    from reserve.reporting.files import read_table

    def header_of(table) -> list[str]:
        return (
            [str(h).strip() if h is not None else "" for h in table.rows[0][1]]
            if table.rows
            else []
        )

    # The header first: a file without the two columns is refused before its rows are read.
    if missing := {"code", "name"} - set(
        header_of(read_table(data, head=1, max_rows=MAX_CATEGORY_ROWS, max_text=MAX_CATEGORY_TEXT))
    ):
        raise Invalid(_("Missing columns: %(cols)s", cols=", ".join(sorted(missing))))
    table = read_table(data, max_rows=MAX_CATEGORY_ROWS, max_text=MAX_CATEGORY_TEXT)
    header = header_of(table)
    return [
        {
            header[i]: ("" if v is None else v)
            for i, v in enumerate(cells)
            if i < len(header) and header[i]
        }
        for _number, cells in table.rows[1:]
    ]


def import_category_file(user, filename: str, data: bytes) -> dict:
    from reserve.reporting.services import release_read_transaction

    _require_admin(user)
    release_read_transaction()
    return import_categories(user, read_category_rows(filename, data))


def import_categories(user, rows: list[dict]) -> dict:
    """Import an official category table: all rows or none. Existing codes get the new name."""
    _require_admin(user)
    known = set(db.session.scalars(select(Category.code)))
    incoming = {}
    errors = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        if len(errors) >= MAX_IMPORT_ERRORS:
            break
        raw = row.get("code")
        if raw not in (None, "") and not isinstance(raw, str):
            errors[f"row {number}"] = [
                _(
                    "the code %(value)s arrived as a number: format the code column as text",
                    value=raw,
                )
            ]
            continue
        code, name = (raw or "").strip(), str(row.get("name") or "").strip()
        if code in incoming:
            errors[f"row {number}"] = [_("code %(code)s appears twice in the file", code=code)]
            continue
        incoming[code] = name
    every = known | set(incoming)
    for code, name in incoming.items():
        if len(errors) >= MAX_IMPORT_ERRORS:
            break
        if problems := category_errors(code, name, every):
            errors[f"{code or '(empty)'}"] = problems
    if len(errors) >= MAX_IMPORT_ERRORS:
        raise Invalid(
            _(
                "Nothing was imported: more than %(n)s rows have errors. The first %(n)s are shown, "
                "the rest of the file was not checked.",
                n=MAX_IMPORT_ERRORS,
            ),
            errors=errors,
        )
    if errors:
        raise Invalid(
            _("Nothing was imported: %(n)s rows have errors.", n=len(errors)), errors=errors
        )
    created = updated = 0
    existing = {
        c.code: c for c in db.session.scalars(select(Category))
    }  # the table has a few thousand rows at most
    for level in sorted(
        {len(code) for code in incoming}
    ):  # parents are written before their children
        for code in (c for c in incoming if len(c) == level):
            category = existing.get(code)
            if category is None:
                db.session.add(
                    Category(
                        code=code,
                        name=incoming[code],
                        level=rules.category_level(code),
                        parent_code=rules.category_parent(code),
                        illustrative=False,
                    )
                )
                created += 1
            elif category.name != incoming[code] or category.illustrative:
                category.name, category.illustrative = incoming[code], False
                updated += 1
        db.session.flush()  # one flush per level, not per row: 10,000 rows took 36 s
    db.session.commit()
    return {"created": created, "updated": updated, "unchanged": len(incoming) - created - updated}


def list_materials(*, q=None, category_code=None):
    stmt = select(Material).order_by(Material.code)
    if q:
        stmt = stmt.where(
            or_(
                contains(Material.name, q),
                starts_with(Material.code, q),
                contains(Material.spec, q),
            )
        )
    if category_code:
        stmt = stmt.where(starts_with(Material.category_code, category_code))
    return stmt


def get_material(material_id: int) -> Material:
    material = db.session.get(Material, material_id)
    if material is None:
        raise NotFound(_("Material %(id)s not found.", id=material_id))
    return material


def _check_material(fields: dict) -> None:
    category = db.session.get(Category, fields.get("category_code") or "")
    if category is None or category.level != 4:
        raise Invalid(
            _("A material belongs to an existing level-4 category."),
            errors={"category_code": [_("invalid")]},
        )


def create_material(user, **fields) -> Material:
    _require_admin(user)
    _check_material(fields)
    if db.session.execute(select(Material.id).filter_by(code=fields["code"])).first():
        raise Conflict(_("A material with code %(code)s already exists.", code=fields["code"]))
    material = Material(**{k: v for k, v in fields.items() if k in MATERIAL_FIELDS})
    db.session.add(material)
    db.session.commit()
    return material


def update_material(user, material_id: int, **fields) -> Material:
    _require_admin(user)
    material = get_material(material_id)
    if "category_code" in fields:
        _check_material(fields)
    old_weight = material.unit_weight_kg
    for key, value in fields.items():
        if key in MATERIAL_FIELDS and key != "code":
            setattr(material, key, value)
    if material.unit_weight_kg != old_weight:
        db.session.flush()
        rollup.rebuild()  # per-agency weights were kept at the old unit weight
    db.session.commit()
    return material


def list_aliases(user, agency_id: int):
    require_write(user, agency_id)
    return (
        select(MaterialAlias)
        .where(MaterialAlias.agency_id == agency_id)
        .order_by(MaterialAlias.alias)
    )


def create_alias(user, *, agency_id: int, alias: str, material_id: int) -> MaterialAlias:
    require_write(user, agency_id)
    get_material(material_id)
    alias = alias.strip()
    if db.session.execute(
        select(MaterialAlias.id).filter_by(agency_id=agency_id, alias=alias)
    ).first():
        raise Conflict(_("The alias %(alias)s is already mapped.", alias=alias))
    row = MaterialAlias(agency_id=agency_id, alias=alias, material_id=material_id)
    db.session.add(row)
    db.session.commit()
    return row


def resolve_material(agency_id: int | None, name: str) -> Material | None:
    """The catalog material an agency means by `name`: its alias first, then the catalog name or code."""
    name = name.strip()
    if agency_id is not None:
        alias = db.session.execute(
            select(MaterialAlias).filter_by(agency_id=agency_id, alias=name)
        ).scalar_one_or_none()
        if alias is not None:
            return alias.material
    return db.session.execute(
        select(Material)
        .where(or_(Material.name == name, Material.code == name))
        .order_by(Material.code)
        .limit(1)
    ).scalar_one_or_none()


def count_categories() -> int:
    return db.session.scalar(select(func.count()).select_from(Category))
