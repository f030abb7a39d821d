"""The reporting data standard (报送数据标准): report kinds, their columns, and how one cell is read.

Pure: no Flask, no database. Column headers and choice labels are Chinese because they are
the published standard agencies fill in; error messages are msgids (English) that services
translate. A template carries two header rows: the Chinese headers people read, then a hidden
row of machine keys whose last cell names the kind and version (`#stock/1`).
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from core.exports import FORMULA_STARTS

from ..rules import MAX_QUANTITY, N_, credit_code_problem

TEMPLATE_VERSION = 1
MAX_ROWS = 50_000  # per file (reading stops there): the largest file one web request may cost (docs/reliability.md)
MAX_PUSH_ROWS = 10_000  # per JSON push
FULL, INCREMENTAL = "full", "incremental"
MODES = (FULL, INCREMENTAL)

CLASSIFICATION = {"公开": "public", "内部": "internal", "受限": "restricted"}
RESERVE_TYPE = {"实物": "physical", "协议": "agreement", "产能": "capacity"}
MODE = {"公路": "road", "铁路": "rail", "航空": "air", "水运": "water"}
YES_NO = {"是": True, "否": False}
DEPOT_STATUS = {"在用": "active", "停用": "closed"}
INCIDENT_TYPE = {
    "自然灾害": "natural_disaster",
    "事故灾难": "accident",
    "公共卫生事件": "public_health",
    "社会安全事件": "social_security",
}
LEVEL = {"I": "I", "II": "II", "III": "III", "IV": "IV"}
BASIS = {"每区域": "per_region", "每万人": "per_10k_people"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    type: str  # text, code, int, number, date, choice, bool
    required: bool = False
    choices: dict | None = None  # label -> stored value (labels or values accepted)
    pattern: str | None = None  # for codes
    max_length: int = 200
    minimum: float | None = 0
    maximum: float | None = None
    note: str = ""  # shown on the instructions sheet

    @property
    def labels(self) -> list[str]:
        return list(self.choices or ())


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # what identifies a row (after material resolution)
    group: str  # the preview groups changes by this key (depot, plan)
    example: dict = field(default_factory=dict)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def version_marker(self) -> str:
        return f"#{self.name}/{TEMPLATE_VERSION}"


DEPOT_CODE = Column(
    "depot_code",
    "储备库编码",
    "code",
    True,
    pattern=r"^[A-Za-z0-9_.-]{1,40}$",
    max_length=40,
    note="本单位储备库的唯一编码，由系统登记时确定",
)
MATERIAL_CODE = Column(
    "material_code",
    "物资编码",
    "code",
    pattern=r"^\d{10}$",
    max_length=10,
    note="GB/T 38565 四级分类码(7位)+3位序号；与物资名称至少填一项",
)
MATERIAL_NAME = Column(
    "material_name",
    "物资名称",
    "text",
    max_length=200,
    note="可用本单位习惯名称，通过别名表对应到目录物资",
)
CLASS = Column(
    "classification",
    "密级",
    "choice",
    choices=CLASSIFICATION,
    note="公开/内部/受限；空白沿用储备库的密级",
)

KINDS = {
    "depots": ReportKind(
        "depots",
        "储备库",
        (
            DEPOT_CODE,
            Column("name", "储备库名称", "text", True),
            Column(
                "region_code",
                "行政区划代码",
                "code",
                True,
                pattern=r"^\d{6}$",
                max_length=6,
                note="GB/T 2260 六位代码",
            ),
            Column("address", "地址", "text", max_length=300),
            Column("lat", "纬度", "number", minimum=-90, maximum=90),
            Column("lon", "经度", "number", minimum=-180, maximum=180),
            Column("capacity_m3", "库容(立方米)", "number"),
            Column("capacity_t", "库容(吨)", "number"),
            Column(
                "classification",
                "密级",
                "choice",
                choices=CLASSIFICATION,
                note="公开/内部/受限；空白为内部",
            ),
            Column("contact_name", "联系人", "text", max_length=50),
            Column("contact_phone", "联系电话", "text", max_length=30),
            Column("status", "状态", "choice", choices=DEPOT_STATUS, note="在用/停用；空白为在用"),
        ),
        key=("depot_code",),
        group="depot_code",
        example={"depot_code": "SX-DEMO-01", "name": "示例储备库", "region_code": "140105"},
    ),
    "stock": ReportKind(
        "stock",
        "库存批次",
        (
            DEPOT_CODE,
            MATERIAL_CODE,
            MATERIAL_NAME,
            Column("lot_no", "批次号", "text", True, max_length=60),
            Column(
                "quantity", "在库数量", "int", True, note="报送时点的实际在库数量(整数)，不是增减量"
            ),
            Column("production_date", "生产日期", "date", note="YYYY-MM-DD"),
            Column("expiry_date", "有效期至", "date", note="YYYY-MM-DD，须晚于生产日期"),
            Column(
                "reserve_type",
                "储备方式",
                "choice",
                choices=RESERVE_TYPE,
                note="实物/协议/产能；空白为实物",
            ),
            CLASS,
            Column("enterprise_name", "协议企业名称", "text", note="协议储备和产能储备必填"),
            Column(
                "enterprise_credit_code",
                "统一社会信用代码",
                "code",
                max_length=18,
                note="GB 32100 十八位",
            ),
            Column("units_per_day", "日产能", "int"),
            Column("lead_time_h", "响应时间(小时)", "number"),
            Column("contract_valid_to", "协议有效期至", "date"),
        ),
        key=("depot_code", "material_id", "lot_no"),
        group="depot_code",
        example={
            "depot_code": "SX-DEMO-01",
            "material_code": "1010101001",
            "lot_no": "2026-01",
            "quantity": 100,
        },
    ),
    "transport": ReportKind(
        "transport",
        "运输力量",
        (
            Column(
                "depot_code",
                "所在储备库编码",
                "code",
                pattern=DEPOT_CODE.pattern,
                max_length=40,
                note="可空：不属于某个储备库的运力",
            ),
            Column("mode", "运输方式", "choice", True, choices=MODE),
            Column("vehicle_type", "车型/载具", "text", True, max_length=60),
            Column("count", "数量", "int", True),
            Column("payload_t", "单车载重(吨)", "number", True),
            Column("volume_m3", "单车容积(立方米)", "number"),
            Column("available", "可用", "bool", choices=YES_NO, note="是/否；空白为是"),
            Column("base", "驻地", "text"),
            Column(
                "classification",
                "密级",
                "choice",
                choices=CLASSIFICATION,
                note="公开/内部/受限；空白为内部",
            ),
        ),
        key=("depot_code", "mode", "vehicle_type"),
        group="depot_code",
        example={"mode": "公路", "vehicle_type": "厢式货车 10吨", "count": 5, "payload_t": 10},
    ),
    "norms": ReportKind(
        "norms",
        "预案储备定额",
        (
            Column("plan_name", "预案名称", "text", True),
            Column("incident_type", "事件类型", "choice", True, choices=INCIDENT_TYPE),
            Column("level", "响应级别", "choice", True, choices=LEVEL),
            Column(
                "plan_region_code", "预案适用区划", "code", True, pattern=r"^\d{6}$", max_length=6
            ),
            MATERIAL_CODE,
            MATERIAL_NAME,
            Column("region_code", "定额区划代码", "code", True, pattern=r"^\d{6}$", max_length=6),
            Column("basis", "定额方式", "choice", True, choices=BASIS),
            Column("quantity", "定额数量", "number", True, maximum=MAX_QUANTITY),
            Column(
                "classification",
                "密级",
                "choice",
                choices=CLASSIFICATION,
                note="预案的密级；空白为内部",
            ),
        ),
        key=("plan_name", "material_id", "region_code"),
        group="plan_name",
        example={
            "plan_name": "示例预案",
            "incident_type": "自然灾害",
            "level": "IV",
            "plan_region_code": "140000",
            "material_code": "1010101001",
            "region_code": "140100",
            "basis": "每万人",
            "quantity": 20,
        },
    ),
}


@dataclass(frozen=True)
class Problem:
    """A message id with its parameters; the service translates it."""

    message: str
    params: dict = field(default_factory=dict)


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def _is_blank(raw) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def read_cell(column: Column, raw):
    """(value, None) or (None, Problem) for one cell. Spreadsheet cells keep their type, so
    a code that arrived as a number is named and refused, never silently "fixed"."""
    if _is_blank(raw):
        if column.required:
            return None, Problem(N_("this column is required"))
        return None, None
    reader = _READERS[column.type]
    return reader(column, raw.strip() if isinstance(raw, str) else raw)


def _text(column, raw):
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    value = str(raw)
    if value[:1] == "'" and value[1:2] in FORMULA_STARTS:  # our exports guard such cells with '
        value = value[1:]
    if len(value) > column.max_length:
        return None, Problem(N_("longer than %(n)s characters"), {"n": column.max_length})
    return value, None


def _code(column, raw):
    if not isinstance(raw, str):
        return None, Problem(
            N_(
                "the code %(value)s arrived as a number: format the column as text and type it again"
            ),
            {"value": raw},
        )
    if column.key == "enterprise_credit_code":
        problem = credit_code_problem(raw)
        return (None, Problem(problem)) if problem else (raw, None)
    if column.pattern and not re.match(column.pattern, raw):
        return None, Problem(N_("not a valid code of this column"))
    return raw, None


def _number(column, raw, whole=False):
    if isinstance(raw, bool):
        return None, Problem(N_("not a number"))
    if isinstance(raw, str):
        try:
            raw = float(raw.replace(",", ""))
        except ValueError:
            return None, Problem(N_("not a number"))
    if not isinstance(raw, (int, float)) or raw != raw or raw in (float("inf"), float("-inf")):
        return None, Problem(N_("not a number"))
    if whole:
        if float(raw) != int(raw):
            return None, Problem(N_("must be a whole number"))
        raw = int(raw)
    if column.minimum is not None and raw < column.minimum:
        return None, Problem(N_("must be at least %(n)s"), {"n": column.minimum})
    if column.maximum is not None and raw > column.maximum:
        return None, Problem(N_("must be at most %(n)s"), {"n": column.maximum})
    if whole and raw > MAX_QUANTITY:  # every whole-number column is a count of units
        return None, Problem(N_("must be at most %(n)s"), {"n": MAX_QUANTITY})
    return raw, None


def _int(column, raw):
    return _number(column, raw, whole=True)


def _date(column, raw):
    if isinstance(raw, datetime):
        return raw.date(), None
    if isinstance(raw, date):
        return raw, None
    if isinstance(raw, str) and (match := _DATE.match(raw)):
        try:
            return date(*map(int, match.groups())), None
        except ValueError:
            pass
    return None, Problem(N_("not a date (write YYYY-MM-DD)"))


def _choice(column, raw):
    if isinstance(raw, bool) and column.type == "bool":
        return raw, None
    value = str(raw)
    if value in column.choices:
        return column.choices[value], None
    if value in column.choices.values():
        return value, None
    return None, Problem(N_("must be one of: %(choices)s"), {"choices": " / ".join(column.choices)})


_READERS = {
    "text": _text,
    "code": _code,
    "int": _int,
    "number": _number,
    "date": _date,
    "choice": _choice,
    "bool": _choice,
}


def cell_label(column: Column, value) -> str | int | float | None:
    """How a stored value is written back into a template cell (the Chinese label for choices)."""
    if value is None:
        return None
    if column.choices:
        for label, stored in column.choices.items():
            if stored == value:
                return label
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_problems(kind: str, record: dict) -> dict[str, Problem]:
    """Rules that involve several cells of one row: {column key: problem}."""
    problems = {}
    if (
        not record.get("material_code")
        and not record.get("material_name")
        and kind in ("stock", "norms")
    ):
        problems["material_name"] = Problem(N_("give the material code or the material name"))
    if kind == "stock":
        made, expires = record.get("production_date"), record.get("expiry_date")
        if made and expires and expires <= made:
            problems["expiry_date"] = Problem(
                N_("the expiry date must be after the production date")
            )
        if record.get("reserve_type") in ("agreement", "capacity") and not record.get(
            "enterprise_name"
        ):
            problems["enterprise_name"] = Problem(
                N_("agreement and capacity reserves name the enterprise")
            )
    if kind == "depots" and (record.get("lat") is None) != (record.get("lon") is None):
        problems["lon" if record.get("lon") is None else "lat"] = Problem(
            N_("give both latitude and longitude")
        )
    return problems


def parse_marker(cell) -> tuple[str, int] | None:
    """("stock", 1) from a version marker cell "#stock/1"; None if the cell is not a marker."""
    if not isinstance(cell, str) or not (match := re.match(r"^#([a-z]+)/(\d+)$", cell.strip())):
        return None
    return match.group(1), int(match.group(2))


def column_letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
