"""The dashboard's tables as files: CSV (UTF-8 with a BOM, so Excel shows Vietnamese) or XLSX.

Every row starts with the area exported (level, code, name, as of) and then names its own area or
stage, so rows copied out of the file still say where they come from. Headers follow the reader's
language. A summary is at most a few thousand rows (a province's communes): built in memory.
"""

import io
from typing import Any, Literal
from zoneinfo import ZoneInfo

import anyio.to_thread
from openpyxl import Workbook

from service.i18n import N_, gettext
from service.merchants.exports import CSV_TYPE, XLSX_TYPE
from service.onboarding.stages import BY_CODE, STAGES, local_date
from service.reports.summaries import Figures, Summary
from service.sheets import CsvRows, xlsx_cells

Table = Literal["children", "teams", "stages", "trend", "targets"]
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
__all__ = ["CSV_TYPE", "XLSX_TYPE", "Table", "csv_bytes", "filename", "table_rows", "xlsx_bytes"]

LEVEL_NAMES = {
    "country": N_("Cả nước"),
    "province": N_("Tỉnh/thành phố"),
    "commune": N_("Xã/phường"),
    "village": N_("Thôn/tổ dân phố"),
    "team": N_("Tổ công nghệ số"),
}


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _area_headers() -> list[str]:
    return [
        gettext("Cấp báo cáo"),
        gettext("Mã địa bàn báo cáo"),
        gettext("Tên địa bàn báo cáo"),
        gettext("Số liệu tính đến"),
    ]


def _area_cells(summary: Summary) -> list[Any]:
    return [
        gettext(LEVEL_NAMES[summary.level]),
        summary.code or "",
        summary.name,
        summary.as_of.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M"),
    ]


def _figures_headers() -> list[str]:
    return [
        gettext("Cấp"),
        gettext("Mã"),
        gettext("Tên"),
        gettext("Số tiểu thương"),
        *(gettext("Hiện ở: {stage}", stage=gettext(s.name)) for s in STAGES),
        *(gettext("Từng đạt: {stage}", stage=gettext(s.name)) for s in STAGES),
        gettext("Có mã QR nhưng chưa dùng"),
        gettext("Đứng yên 60 ngày trở lên"),
        gettext("Số tổ"),
        gettext("Số thành viên"),
        gettext("Tình nguyện viên hoạt động"),
        # Added after the first columns, which stay as they were for those who read them by place.
        gettext("Đang dùng QR"),
        gettext("Tỷ lệ đang dùng QR (%)"),
        gettext("Có QR nhưng chưa dùng: tổng"),
        gettext("Có QR nhưng chưa dùng: mới bắt đầu (< 30 ngày)"),
        gettext("Gian hàng trực tuyến"),
        *(gettext("Đang giữ: {stage}", stage=gettext(s.name)) for s in STAGES),
    ]


def _figures_cells(f: Figures) -> list[Any]:
    return [
        gettext(LEVEL_NAMES[f.level]),
        f.code or "",
        f.name,
        f.merchants,
        *(f.by_stage.get(s.code, 0) for s in STAGES),
        *(f.reached.get(s.code, 0) for s in STAGES),
        f.installed_not_using,
        f.stalled,
        f.teams,
        f.members,
        f.active_volunteers,
        f.using_qr,
        f.using_qr_percent,
        f.qr_held_not_used,
        f.qr_just_started,
        f.holding.get("listed", 0),
        *(f.holding.get(s.code, 0) for s in STAGES),
    ]


def table_rows(summary: Summary, table: Table) -> tuple[list[str], list[list[Any]]]:
    """The header row and the rows of one dashboard table."""
    area = _area_cells(summary)
    if table in ("children", "teams"):
        figures = summary.children if table == "children" else summary.teams_list
        return _area_headers() + _figures_headers(), [[*area, *_figures_cells(f)] for f in figures]
    if table == "stages":
        headers = [
            gettext("Mã giai đoạn"),
            gettext("Giai đoạn"),
            gettext("Hiện ở giai đoạn"),
            gettext("Tỷ lệ hiện ở (%)"),
            gettext("Từng đạt"),
            gettext("Tỷ lệ từng đạt (%)"),
        ]
        rows = []
        for s in STAGES:
            current, reached = summary.by_stage.get(s.code, 0), summary.reached.get(s.code, 0)
            rows.append(
                [
                    *area,
                    s.code,
                    gettext(s.name),
                    current,
                    _share(current, summary.merchants),
                    reached,
                    _share(reached, summary.merchants),
                ]
            )
        return _area_headers() + headers, rows
    if table == "trend":
        headers = [
            gettext("Tháng"),
            gettext("Lượt thăm"),
            gettext("Tiểu thương mới"),
            gettext("Câu trả lời hằng tuần"),
            gettext("Lượt xem gian hàng"),
            gettext("Lượt lấy mã QR"),
        ]
        rows = [
            [
                *area,
                month,
                summary.visits_by_month.get(month, 0),
                new,
                summary.checkins_by_month.get(month, 0),
                summary.storefront_views_by_month.get(month, 0),
                summary.qr_fetches_by_month.get(month, 0),
            ]
            for month, new in summary.new_by_month.items()
        ]
        return _area_headers() + headers, rows
    headers = [
        gettext("Mã địa bàn đặt chỉ tiêu"),
        gettext("Địa bàn đặt chỉ tiêu"),
        gettext("Mã giai đoạn"),
        gettext("Giai đoạn"),
        gettext("Chỉ tiêu (%)"),
        gettext("Hiện đạt (%)"),
        gettext("Đã đạt"),
        gettext("Hạn"),
        gettext("Địa bàn chậm nhất"),
    ]
    rows = [
        [
            *area,
            t.area,
            t.area_name,
            t.stage,
            gettext(BY_CODE[t.stage].name),  # type: ignore[index]
            t.share_percent,
            t.percent,
            gettext("Có") if t.met else gettext("Chưa"),
            t.due_on.isoformat(),
            "; ".join(f"{b.name} ({b.percent}%)" for b in t.behind),
        ]
        for t in summary.targets
    ]
    return _area_headers() + headers, rows


def csv_bytes(headers: list[str], rows: list[list[Any]]) -> bytes:
    out = CsvRows()
    out.write([headers, *rows])
    return "\ufeff".encode() + out.take().encode()


async def xlsx_bytes(headers: list[str], rows: list[list[Any]], *, sheet: str) -> bytes:
    def build() -> bytes:
        workbook = Workbook(write_only=True)
        ws = workbook.create_sheet(sheet)
        ws.freeze_panes = "A2"
        ws.append(xlsx_cells(ws, headers, bold=True))
        for row in rows:
            ws.append(xlsx_cells(ws, row))
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()

    return await anyio.to_thread.run_sync(build)


def filename(summary: Summary, table: Table, fmt: str) -> str:
    return f"bao-cao-{summary.code or 'ca-nuoc'}-{table}-{local_date(summary.as_of).isoformat()}.{fmt}"
