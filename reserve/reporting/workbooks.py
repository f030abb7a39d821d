"""Writing report templates (XLSX and CSV, blank or prefilled) and the annotated copy of an
upload with its bad cells highlighted. Write-only openpyxl, so 100,000 rows stay cheap."""

import csv
import io
from datetime import date

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from core.exports import safe_cell

from .standard import FULL, INCREMENTAL, TEMPLATE_VERSION, ReportKind, cell_label, column_letter

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
TYPE_LABELS = {
    "text": "文本",
    "code": "代码(文本格式)",
    "int": "整数",
    "number": "数字",
    "date": "日期",
    "choice": "下拉选择",
    "bool": "是/否",
}
MODE_TEXT = {
    FULL: "全量报送：文件是本单位该类数据的完整现状，文件中没有的现有记录将被关闭（库存以冲减流水归零，不删除任何流水）。",
    INCREMENTAL: "增量报送：只更新文件中列出的记录，其余不变。",
}


def _cell_values(kind: ReportKind, record: dict) -> list:
    return [cell_label(c, record.get(c.key)) for c in kind.columns]


def template_xlsx(kind: ReportKind, records: list[dict] | None = None) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("数据")
    for index, column in enumerate(kind.columns):
        letter = column_letter(index)
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.header) * 2 + 4))
        if column.type in ("code", "text"):
            sheet.column_dimensions[letter].number_format = "@"  # codes stay text when typed
        if column.choices:
            validation = DataValidation(
                type="list",
                formula1='"' + ",".join(column.labels) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="选项",
                error="请从下拉列表中选择：" + "、".join(column.labels),
            )
            validation.add(f"{letter}3:{letter}1048576")
            sheet.data_validations.append(validation)
    sheet.row_dimensions[2].hidden = True
    sheet.freeze_panes = "A3"
    headers = []
    for column in kind.columns:
        cell = WriteOnlyCell(sheet, column.header + ("*" if column.required else ""))
        cell.font, cell.fill = Font(bold=True), REQUIRED_FILL if column.required else HEADER_FILL
        cell.comment = Comment(
            f"{TYPE_LABELS[column.type]}{'，必填' if column.required else ''}。{column.note}",
            "应急物资储备系统",
            width=260,
            height=90,
        )
        headers.append(cell)
    sheet.append(headers)
    sheet.append([c.key for c in kind.columns] + [kind.version_marker])
    for record in records or ():
        sheet.append(
            [_text_cell(sheet, c, v) for c, v in zip(kind.columns, _cell_values(kind, record))]
        )
    _instructions(workbook.create_sheet("说明"), kind)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _text_cell(sheet, column, value):
    if column.type in ("code", "text") and value is not None:
        cell = WriteOnlyCell(sheet, safe_cell(str(value)))
        cell.number_format = "@"
        return cell
    return value


def _instructions(sheet, kind: ReportKind) -> None:
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 22
    sheet.column_dimensions["C"].width = 16
    sheet.column_dimensions["D"].width = 8
    sheet.column_dimensions["E"].width = 70
    title = WriteOnlyCell(
        sheet, f"{kind.title}报送模板（版本 {TEMPLATE_VERSION}，标识 {kind.version_marker}）"
    )
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    for line in (
        "在“数据”工作表第3行起逐行填写，不要修改或删除前两行（第2行为隐藏的机器列名和模板版本）。",
        "代码列（储备库编码、物资编码、行政区划代码、统一社会信用代码）请保持文本格式，不要输入为数字。",
        "日期写作 YYYY-MM-DD；数量为整数；带 * 的列必填；下拉列只能选列表中的值。",
        "库存的“在库数量”是报送时点的实际数量，不是增减量；同一文件重复上传不会重复记账。",
        MODE_TEXT[FULL],
        MODE_TEXT[INCREMENTAL],
        "上传后系统先校验并给出变更预览（新增/变更/关闭，按储备库汇总），确认后一次性全部生效；有任何错误则不做任何修改，"
        "错误会标注到具体的行和列，并可下载标注了错误单元格的副本。",
    ):
        sheet.append([line])
    sheet.append([])
    header = [WriteOnlyCell(sheet, text) for text in ("列名", "机器列名", "类型", "必填", "说明")]
    for cell in header:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
    sheet.append(header)
    for column in kind.columns:
        options = f"可选：{'、'.join(column.labels)}。" if column.choices else ""
        note = WriteOnlyCell(sheet, options + column.note)
        note.alignment = Alignment(wrap_text=True)
        sheet.append(
            [
                column.header,
                column.key,
                TYPE_LABELS[column.type],
                "是" if column.required else "",
                note,
            ]
        )
    if kind.example:
        sheet.append([])
        sheet.append(["示例行"] + [f"{kind.column(k).header}={v}" for k, v in kind.example.items()])


def template_csv(kind: ReportKind, records: list[dict] | None = None) -> bytes:
    """UTF-8 with BOM (Excel opens it correctly): Chinese headers, the machine-key row with the
    version marker, then the rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in kind.columns])
    writer.writerow([c.key for c in kind.columns] + [kind.version_marker])
    for record in records or ():
        writer.writerow([safe_cell(_csv_value(v)) for v in _cell_values(kind, record)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def annotated_xlsx(rows: list[tuple[int, list]], errors: list[dict]) -> bytes:
    """The upload as received, bad cells filled red with a comment per cell, the row's problems
    in a last column, and problems of the whole file on a sheet of their own. `errors` carry
    translated messages (see services.describe_errors)."""
    by_cell, by_row, general = {}, {}, []
    for error in errors:
        if error["row"] is None:
            general.append(error["message"])
            continue
        by_row.setdefault(error["row"], []).append(
            f"{error['header'] or ''}{'：' if error['header'] else ''}{error['message']}"
        )
        if error["column"] is not None:
            by_cell.setdefault((error["row"], error["column"]), []).append(error["message"])
    width = max((len(cells) for _, cells in rows), default=0)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("数据")
    sheet.freeze_panes = "A2"
    last = 0
    for number, cells in rows:
        while (
            last + 1 < number
        ):  # keep spreadsheet row numbers: blank rows were skipped when reading
            sheet.append([])
            last += 1
        line = []
        for index in range(width):
            value = cells[index] if index < len(cells) else None
            cell = WriteOnlyCell(sheet, safe_cell(value) if isinstance(value, str) else value)
            if (number, index) in by_cell:
                cell.fill = ERROR_FILL
                cell.comment = Comment(
                    "\n".join(by_cell[(number, index)]), "校验", width=300, height=80
                )
            line.append(cell)
        note = WriteOnlyCell(sheet, "；".join(by_row.get(number, [])) or None)
        if number in by_row:
            note.font = Font(color="9C0006")
        sheet.append(line + [note])
        last = number
    if general:
        problems = workbook.create_sheet("文件问题")
        for message in general:
            problems.append([message])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
