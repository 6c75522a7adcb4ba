"""Export of the caller's jurisdiction as CSV or XLSX.

- Rows are the live merchants the caller sees (`MerchantService.where_visible`), read in keyset
  batches, with province, commune, village and team names joined by code in the query.
- Personal data goes through privacy.py's one rule, row by row: a commune officer's export has
  `•••• 5678` where a team leader's has the whole phone; a CCCD (and a personal tax code) is
  whole only for the merchant's own team leader and admins.
- Headers are the Vietnamese column names the importer reads, and kinds, categories and consent
  are written as words it maps back, so an export (with whole phones) imports again elsewhere.
- CSV is UTF-8 with a BOM, so Excel shows Vietnamese correctly; Excel under Vietnamese regional
  settings expects `;`, and reads long digit runs as numbers: XLSX is the file to open in Excel
  (every value is written as text or a number deliberately, so a CCCD keeps its leading zero).
- XLSX is written by openpyxl in write-only mode (rows go to a temporary file, not memory), in a
  worker thread, then streamed.
"""

import tempfile
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Team
from service.accounts.schemas import CurrentUser
from service.errors import Forbidden
from service.merchants.identifiers import format_phone, mask_phone
from service.merchants.models import Merchant
from service.merchants.privacy import shown, visibility
from service.merchants.schemas import CATEGORY_NAMES, KIND_NAMES, STAGE_NAMES
from service.merchants.services import MerchantService
from service.places.models import Commune, Province, Village
from service.sheets import CsvRows, xlsx_cells

EXPORTERS = ("team_leader", "commune_officer", "province_officer", "admin")
BATCH = 2_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv"  # Litestar adds "; charset=utf-8" to text types
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# Consent purposes as the words the importer reads back (spreadsheet._CONSENT_VALUES).
CONSENT_WORDS = {"storefront": "gian hàng", "contact": "liên hệ", "statistics": "thống kê"}

HEADERS = (
    "Mã bản ghi",
    "Tên cơ sở kinh doanh",
    "Loại hình",
    "Ngành hàng",
    "Họ tên chủ hộ",
    "Số điện thoại",
    "Số CCCD",
    "Mã số thuế",
    "Mã tỉnh",
    "Tỉnh/thành phố",
    "Mã xã",
    "Xã/phường",
    "Thôn/tổ dân phố",
    "Chợ",
    "Số sạp",
    "Vĩ độ",
    "Kinh độ",
    "Tổ phụ trách",
    "Đồng ý",
    "Ngày đồng ý",
    "Giai đoạn",
    "Ngày đăng ký",
    "Ghi chú",
)
WIDTHS = (38, 32, 18, 18, 26, 16, 16, 16, 8, 22, 8, 26, 22, 20, 10, 10, 10, 30, 28, 18, 20, 18, 40)


def allowed(by: CurrentUser) -> bool:
    return by.role in EXPORTERS


class ExportService:
    """Reads the caller's merchants for an export; the session must outlive the stream."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def batches(self, *, by: CurrentUser, size: int | None = None) -> AsyncIterator[list[list[Any]]]:
        if not allowed(by):
            raise Forbidden()
        size = size or BATCH
        visible = MerchantService(self.session).where_visible(by)
        order = (Merchant.commune_code, Merchant.name_fold, Merchant.id)
        last: tuple[Any, ...] | None = None
        while True:
            query = (
                select(Merchant, Province.full_name, Commune.full_name, Village.name, Team.name)
                .join(Province, Province.code == Merchant.province_code)
                .join(Commune, Commune.code == Merchant.commune_code)
                .join(Team, Team.id == Merchant.team_id)
                .outerjoin(Village, Village.id == Merchant.village_id)
                .where(visible)
                .order_by(*order)
                .limit(size)
            )
            if last is not None:
                # A plain tuple on the right: its values are bound with the columns' types.
                query = query.where(tuple_(*order) > last)
            rows = (await self.session.execute(query)).all()
            if not rows:
                return
            yield [_row(by, *row) for row in rows]
            m = rows[-1][0]
            last = (m.commune_code, m.name_fold, m.id)
            self.session.expunge_all()  # keep memory flat over a province


def _date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _row(
    by: CurrentUser, m: Merchant, province: str, commune: str, village: str | None, team: str
) -> list[Any]:
    seen = visibility(by, team_id=m.team_id)
    phone = ""
    if m.owner_phone:  # empty once erased
        phone = format_phone(m.owner_phone) if seen.phone else mask_phone(m.owner_phone)
    return [
        str(m.id),
        m.business_name,
        KIND_NAMES.get(m.kind, m.kind),
        CATEGORY_NAMES.get(m.category, m.category),
        m.owner_name,
        phone,
        shown("owner_id_number", m.owner_id_number, seen) or "",
        shown("tax_code", m.tax_code, seen) or "",
        m.province_code,
        province,
        m.commune_code,
        commune,
        village or "",
        m.market or "",
        m.stall or "",
        m.lat if m.lat is not None else "",
        m.lon if m.lon is not None else "",
        team,
        ", ".join(CONSENT_WORDS.get(p, p) for p in m.consent_purposes),
        _date(m.consent_at),
        STAGE_NAMES.get(m.current_stage, m.current_stage),
        _date(m.created_at),
        m.notes or "",
    ]


async def csv_chunks(service: ExportService, *, by: CurrentUser) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM, one chunk per batch of rows."""
    rows = CsvRows()
    rows.write([HEADERS])
    yield "\ufeff".encode() + rows.take().encode()
    async for batch in service.batches(by=by):
        rows.write(batch)
        yield rows.take().encode()


async def write_xlsx(service: ExportService, *, by: CurrentUser, target: IO[bytes]) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Tiểu thương")
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(xlsx_cells(sheet, HEADERS, bold=True))

    def append(rows: list[list[Any]]) -> None:
        for row in rows:
            sheet.append(xlsx_cells(sheet, row))

    async for batch in service.batches(by=by):
        await anyio.to_thread.run_sync(append, batch)
    await anyio.to_thread.run_sync(workbook.save, target)


async def xlsx_chunks(
    service: ExportService, *, by: CurrentUser, chunk: int = 64 * 1024
) -> AsyncIterator[bytes]:
    with tempfile.TemporaryFile() as target:
        await write_xlsx(service, by=by, target=target)
        target.seek(0)
        while data := await anyio.to_thread.run_sync(target.read, chunk):
            yield data
