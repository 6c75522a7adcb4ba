"""Bulk import of the merchant spreadsheets communes already keep (CSV or XLSX).

One file goes to one team (a team works in one commune): the file's rows are checked with the
form's own rules (`validation.clean`, the same place checks as `MerchantService`), then for
duplicates inside the file and against existing records, set-based: one query per batch of rows
for each identifier, one query per commune for names. A dry run reports every problem as
(row number as Excel shows it, field, message) and writes nothing.

The CPU work (reading the file, checking rows, finding duplicates, building the rows to insert)
runs off the event loop (`service.offload`, one import at a time per process): the server keeps
answering while a 200,000-row file is checked. The database work stays on the request's session.

Commit is all-or-nothing per file: one transaction, and any row error or duplicate means nothing
is written, unless the importer explicitly asks to skip those rows (`skip_invalid`).

Consent: a row's own consent column ("Đồng ý": gian hàng, liên hệ, thống kê) wins. For rows
without it, the importer may confirm purposes collected on paper for the whole file
(`paper_consent`); with neither, the row is refused like the form refuses it. Either way the
consent is recorded as given at the import, by the importer (consent_by = importer): that is who
vouches for the paper.

Duplicates: identifiers (phone, CCCD, tax code) exactly, as the form does. Names inside the
commune: the same folded name (case, accents, đ, punctuation and spacing do not count), or one
letter added, dropped or changed, provided the pair also passes the form's rule (difflib ratio
≥ 0.9). The form compares a new name with up to 500 neighbours by difflib, which also catches
two-typo variants; 100,000 rows cannot afford that, so bulk finds equal and one-typo names
exactly through `NameIndex`. What slips through is found later and merged (merge.py).
"""

import hashlib
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import and_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service import offload
from service.accounts.models import Team
from service.accounts.schemas import CurrentUser
from service.audit import AuditEntry
from service.errors import DomainError, Forbidden
from service.i18n import N_, gettext
from service.merchants import validation
from service.merchants.bulk import cyclic_gc_paused, insert_rows, ordered_ids
from service.merchants.models import Merchant, live
from service.merchants.privacy import ERASED_PHONE
from service.merchants.schemas import FIELD_LABELS, Duplicate
from service.merchants.search import similar_names
from service.merchants.services import ENTITY, MerchantService, _folds
from service.merchants.spreadsheet import (
    CATEGORIES,
    CONSENT_PURPOSES,
    KINDS,
    MAX_BYTES,
    MAX_ROWS,
    SheetRows,
    SpreadsheetError,
    read_rows,
)
from service.places.models import Commune, Village
from service.text import fold

IMPORTERS = ("team_leader", "commune_officer", "province_officer", "admin")
BATCH = 5_000  # identifier values per IN (...) query
IDENTIFIERS = ("owner_phone", "tax_code", "owner_id_number")
BASE_COLUMNS = frozenset({"business_name", "owner_name", "owner_phone"})
UPLOAD_MAX_AGE = timedelta(hours=24)

Progress = Callable[[str, int, int], None]  # (phase, done, total)

# Labels of the file's own columns (spreadsheet.FIELDS) for messages.
COLUMN_LABELS = {**FIELD_LABELS, "village": FIELD_LABELS["village_id"]}

FILE_MESSAGES = {
    "too_large": N_("Tệp quá lớn (tối đa {mb} MB)."),
    "too_many_rows": N_("Tệp có quá nhiều dòng (tối đa {n} dòng); hãy chia thành nhiều tệp."),
    "too_far": N_(
        "Trang tính kéo dài tới dòng {value} (tối đa dòng {n}). Hãy xóa các dòng thừa ở cuối trang "
        "tính hoặc chia thành nhiều tệp."
    ),
    "part_too_large": N_(
        "Tệp Excel giải nén ra quá lớn: phần “{part}” chiếm {value_mb} MB (tối đa {limit_mb} MB). "
        "Hãy xóa các ô thừa hoặc lưu lại dưới dạng CSV UTF-8."
    ),
    "unpacked_too_large": N_(
        "Tệp Excel giải nén ra quá lớn: {value_mb} MB (tối đa {limit_mb} MB). "
        "Hãy chia thành nhiều tệp hoặc lưu lại dưới dạng CSV UTF-8."
    ),
    "overpacked": N_(
        "Tệp Excel nén bất thường: phần “{part}” nở ra {value} lần khi giải nén (tối đa {limit} lần). "
        "Hãy mở bằng Excel và lưu lại, hoặc lưu dưới dạng CSV UTF-8."
    ),
    "unsupported_format": N_(
        "Không đọc được tệp .xls hoặc .ods: hãy mở bằng Excel và lưu lại dưới dạng .xlsx hoặc CSV UTF-8."
    ),
    "unreadable": N_("Không đọc được tệp: tệp bị hỏng hoặc không phải CSV hay XLSX."),
    "encoding": N_(
        "Tệp CSV không dùng bảng mã UTF-8 hay Windows-1258 (tiếng Việt), nên chữ có dấu sẽ bị sai. "
        "Hãy mở tệp bằng Excel và lưu lại dưới dạng “CSV UTF-8”."
    ),
    "empty": N_("Tệp không có dữ liệu."),
    "missing_columns": N_("Tệp thiếu cột: {columns}."),
    "duplicate_columns": N_("Hai cột cùng chỉ một thông tin, không biết dùng cột nào: {columns}."),
}
NO_CONSENT = N_(
    "Tệp không có cột “Đồng ý”. Hãy xác nhận các mục chủ hộ đã đồng ý trên giấy (áp dụng cho mọi dòng)."
)
IN_FILE = N_("Trùng với dòng {row} của tệp.")
EXISTING = N_("Có thể trùng với tiểu thương đã đăng ký: {name}.")


class ImportFileError(DomainError):
    """The file as a whole cannot be imported (unreadable, missing columns, no consent...)."""

    status_code = 422


class ImportOptions(msgspec.Struct, kw_only=True, frozen=True):
    team_id: uuid.UUID | None = None  # default: the importer's own team
    kind: str | None = None  # for rows that leave the kind empty
    category: str | None = None
    paper_consent: tuple[str, ...] = ()  # purposes confirmed on paper, for rows without a consent cell
    skip_invalid: bool = False  # write the good rows and skip the others (default: all or nothing)


class Problem(msgspec.Struct, kw_only=True):
    row: int  # spreadsheet row, as Excel numbers it
    field: str  # the file's column (spreadsheet.FIELDS), e.g. "owner_phone", "village"
    message: str
    duplicate_of_row: int | None = None
    duplicate: Duplicate | None = None  # an existing record: id, name, commune; nothing personal


class ImportReport(msgspec.Struct, kw_only=True):
    filename: str
    sha256: str
    team_id: uuid.UUID
    team_name: str
    rows: int
    valid: int  # rows with neither an error nor a duplicate
    errors: list[Problem]
    duplicates: list[Problem]
    columns: dict[str, str]  # field -> header as written in the file
    unknown_columns: list[str]
    imported: int = 0
    committed: bool = False

    @property
    def clean(self) -> bool:
        return not self.errors and not self.duplicates

    @property
    def error_rows(self) -> int:
        return len({p.row for p in self.errors})


def _mb(size: int | None) -> str:
    megabytes = (size or 0) / (1024 * 1024)
    return f"{megabytes:.0f}" if megabytes >= 10 else f"{megabytes:.1f}"


def file_error(exc: SpreadsheetError) -> ImportFileError:
    """The message of the limit the file actually exceeded (bytes, rows, row number, part size...)."""
    message = FILE_MESSAGES.get(exc.code, FILE_MESSAGES["unreadable"])
    columns = ", ".join(gettext(COLUMN_LABELS[c]) if c in COLUMN_LABELS else c for c in exc.columns)
    return ImportFileError(
        message,
        field="file",
        mb=MAX_BYTES // (1024 * 1024),
        n=exc.limit or MAX_ROWS,
        columns=columns,
        part=exc.part or "",
        value=exc.value,
        limit=exc.limit,
        value_mb=_mb(exc.value),
        limit_mb=_mb(exc.limit),
    )


# --- duplicates among names (pure) ----------------------------------------------------------------

_VILLAGE_PREFIX = re.compile(r"^(?:to dan pho|tdp|thon|khu pho|kp|to|ap|ban|khom|xom|lang)\s+")


def village_key(name: str) -> str:
    """ "Tổ dân phố Đông Ba", "TDP Đông Ba" and "Đông Ba" are the same village of a commune."""
    return _VILLAGE_PREFIX.sub("", fold(name))


class NameIndex:
    """Folded names of one commune, found again when equal or one letter apart (spaces ignored).

    Each name is stored under itself and under every variant with one letter dropped, so two names
    one insertion, deletion or substitution apart share a key (a "deletion neighbourhood"): finding
    costs one dictionary lookup per letter, whatever the number of names. A hit still has to pass the
    form's own rule (`similar_names`), so short names count only when equal."""

    def __init__(self) -> None:
        self._keys: dict[int, tuple[str, Any]] = {}

    def __bool__(self) -> bool:
        return bool(self._keys)

    @staticmethod
    def _variants(name_fold: str) -> list[int]:
        compact = name_fold.replace(" ", "")
        return [hash(compact), *[hash(compact[:i] + compact[i + 1 :]) for i in range(len(compact))]]

    def _match(self, name_fold: str, keys: list[int]) -> Any | None:
        get = self._keys.get
        for key in keys:
            hit = get(key)
            if hit is not None and similar_names(name_fold, hit[0]):
                return hit[1]
        return None

    def add(self, name_fold: str, ref: Any) -> None:
        entry = (name_fold, ref)
        setdefault = self._keys.setdefault
        for key in self._variants(name_fold):
            setdefault(key, entry)

    def find(self, name_fold: str) -> Any | None:
        """The first indexed name the form's rule calls the same business, or None."""
        return self._match(name_fold, self._variants(name_fold)) if self._keys else None

    def find_or_add(self, name_fold: str, ref: Any) -> Any | None:
        """`find`, and when nothing is found, `add` (computing the variants once)."""
        keys = self._variants(name_fold)
        found = self._match(name_fold, keys) if self._keys else None
        if found is None:
            entry = (name_fold, ref)
            setdefault = self._keys.setdefault
            for key in keys:
                setdefault(key, entry)
        return found


# --- uploaded files between preview and commit ------------------------------------------------------

_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXTENSION = re.compile(r"[a-z0-9]{1,5}")


class UploadStore:
    """Uploaded files kept between the dry run and the commit, in the private upload directory
    (never served: the files hold names, phones and ID numbers), named by their SHA-256 and kept
    apart per user: the commit form carries only the hash, so nobody can commit or read a file
    they did not upload, and a file cannot change between preview and commit. Files are removed
    at the commit, when the importer cancels, and once older than a day (at the next upload and
    by the daily housekeeping)."""

    def __init__(self, private_dir: Path):
        self.root = private_dir / "imports"

    def _path(self, user_id: uuid.UUID, sha256: str, filename: str) -> Path:
        extension = filename.rpartition(".")[2].lower() if "." in filename else ""
        suffix = f".{extension}" if _EXTENSION.fullmatch(extension) else ""
        return self.root / str(user_id) / f"{sha256}{suffix}"

    def save(self, *, user_id: uuid.UUID, data: bytes, filename: str, now: float | None = None) -> str:
        self.purge(now=now)
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._path(user_id, sha256, filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            temporary = path.with_suffix(path.suffix + ".part")
            temporary.write_bytes(data)
            temporary.replace(path)
        return sha256

    def load(self, *, user_id: uuid.UUID, sha256: str, filename: str) -> bytes | None:
        if not _SHA256.fullmatch(sha256):
            return None
        path = self._path(user_id, sha256, filename)
        return path.read_bytes() if path.is_file() else None

    def remove(self, *, user_id: uuid.UUID, sha256: str, filename: str) -> None:
        if _SHA256.fullmatch(sha256):
            self._path(user_id, sha256, filename).unlink(missing_ok=True)

    def purge(self, *, now: float | None = None) -> None:
        limit = (now or time.time()) - UPLOAD_MAX_AGE.total_seconds()
        if not self.root.is_dir():
            return
        for path in self.root.glob("*/*"):
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        for folder in self.root.iterdir():
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


# --- the import ----------------------------------------------------------------------------------


class _Row(msgspec.Struct):
    number: int
    values: dict[str, Any]  # cleaned, as the form would store them
    name_fold: str


class _Folder:
    """`fold` with a memory: business names are folded once for all checks, markets once per file."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        value = self._seen.get(text)
        if value is None:
            value = self._seen[text] = fold(text)
        return value


class ImportService:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.fold = _Folder()

    async def _team(self, by: CurrentUser, team_id: uuid.UUID | None) -> Team:
        team_id = team_id or by.team_id
        team = None
        if team_id is not None:
            team = await self.session.scalar(
                select(Team).where(
                    Team.id == team_id,
                    Team.active.is_(True),
                    by.scope.where(province=Team.province_code, commune=Team.commune_code, team=Team.id),
                )
            )
        if team is None:
            raise ImportFileError(N_("Tổ không tồn tại hoặc nằm ngoài phạm vi của bạn."), field="team_id")
        return team

    async def run(
        self,
        *,
        by: CurrentUser,
        data: bytes,
        filename: str,
        options: ImportOptions,
        at: datetime,
        commit: bool,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Check the file; with `commit`, write it (all or nothing, unless `skip_invalid`)."""
        if by.role not in IMPORTERS:
            raise Forbidden()
        with cyclic_gc_paused():
            return await self._run(
                by=by, data=data, filename=filename, options=options, at=at, commit=commit, progress=progress
            )

    async def _run(
        self,
        *,
        by: CurrentUser,
        data: bytes,
        filename: str,
        options: ImportOptions,
        at: datetime,
        commit: bool,
        progress: Progress | None,
    ) -> ImportReport:
        team = await self._team(by, options.team_id)
        for field, value, choices in (
            ("kind", options.kind, KINDS),
            ("category", options.category, CATEGORIES),
        ):
            if value is not None and value not in choices:
                raise ImportFileError(N_("Giá trị không hợp lệ."), field=field)
        if set(options.paper_consent) - set(CONSENT_PURPOSES):
            raise ImportFileError(N_("Giá trị không hợp lệ."), field="paper_consent")

        required = set(BASE_COLUMNS)
        required |= {"kind"} if options.kind is None else set()
        required |= {"category"} if options.category is None else set()
        try:
            sheet = await offload.run("sheets", read_rows, data, filename=filename, required=required)
        except SpreadsheetError as exc:
            raise file_error(exc) from exc
        if "consent_purposes" not in sheet.columns and not options.paper_consent:
            raise ImportFileError(NO_CONSENT, field="paper_consent")

        errors: list[Problem] = []
        rows = await self._clean(sheet, by=by, team=team, options=options, errors=errors, progress=progress)
        total, sheet.rows, sheet.row_numbers = len(sheet.rows), [], []  # cleaned copies from here on
        duplicates = await offload.run("sheets", self._duplicates_in_file, rows)
        duplicates += await self._duplicates_existing(rows, already={p.row for p in duplicates})
        duplicates.sort(key=lambda p: p.row)
        refused = {p.row for p in duplicates}
        good = [r for r in rows if r.number not in refused]
        report = ImportReport(
            filename=filename,
            sha256=hashlib.sha256(data).hexdigest(),
            team_id=team.id,
            team_name=team.name,
            rows=total,
            valid=len(good),
            errors=errors,
            duplicates=duplicates,
            columns=sheet.columns,
            unknown_columns=sheet.unknown_columns,
        )
        if commit and (report.clean or options.skip_invalid):
            report.imported = await self._write(
                good, by=by, team=team, at=at, filename=filename, progress=progress
            )
            report.committed = True
        return report

    async def _clean(
        self,
        sheet: SheetRows,
        *,
        by: CurrentUser,
        team: Team,
        options: ImportOptions,
        errors: list[Problem],
        progress: Progress | None,
    ) -> list[_Row]:
        codes = {row.get("commune_code") for row in sheet.rows} | {team.commune_code}
        found = await self.session.scalars(select(Commune).where(Commune.code.in_(codes - {None})))
        communes = {c.code: c for c in found}
        villages: dict[tuple[str, str], uuid.UUID] = {}
        if any("village" in row for row in sheet.rows):
            for village in await self.session.scalars(
                select(Village).where(Village.commune_code.in_(list(communes)))
            ):
                villages.setdefault((village.commune_code, village_key(village.name)), village.id)
        return await offload.run(
            "sheets",
            self._check_rows,
            sheet,
            by=by,
            team=team,
            options=options,
            communes=communes,
            villages=villages,
            errors=errors,
            progress=progress,
        )

    def _check_rows(
        self,
        sheet: SheetRows,
        *,
        by: CurrentUser,
        team: Team,
        options: ImportOptions,
        communes: dict[str, Commune],
        villages: dict[tuple[str, str], uuid.UUID],
        errors: list[Problem],
        progress: Progress | None,
    ) -> list[_Row]:
        """Every row through the form's rules: CPU work, run off the event loop."""
        paper = list(options.paper_consent) or None
        out: list[_Row] = []
        total = len(sheet.rows)
        for done, (number, row) in enumerate(sheet.numbered(), start=1):
            values: dict[str, Any] = {f: row.get(f) for f in validation.FIELDS}
            values["kind"] = values["kind"] or options.kind
            values["category"] = values["category"] or options.category
            values["commune_code"] = values["commune_code"] or team.commune_code
            values["consent_purposes"] = values["consent_purposes"] or paper
            values["team_id"] = team.id
            values["village_id"] = None
            clean, field_errors = validation.clean(values)
            problems = [Problem(row=number, field=f, message=m) for f, m in field_errors]
            code = clean.get("commune_code")
            commune = communes.get(code) if code else None
            if code and commune is None:
                message = gettext("Mã xã/phường không tồn tại.")
                problems.append(Problem(row=number, field="commune_code", message=message))
            elif commune is not None and not by.scope.allows_area(
                province_code=commune.province_code, commune_code=commune.code
            ):
                message = gettext("Xã/phường này nằm ngoài phạm vi quản lý của bạn.")
                problems.append(Problem(row=number, field="commune_code", message=message))
            elif commune is not None and commune.code != team.commune_code:
                message = gettext("Tổ này không hoạt động ở xã/phường đã chọn.")
                problems.append(Problem(row=number, field="commune_code", message=message))
            elif commune is not None and row.get("village"):
                village_id = villages.get((commune.code, village_key(row["village"])))
                if village_id is None:
                    message = gettext("Thôn/tổ dân phố không thuộc xã/phường đã chọn.")
                    problems.append(Problem(row=number, field="village", message=message))
                clean["village_id"] = village_id
            if problems:
                errors.extend(problems)
            else:
                clean["province_code"] = commune.province_code  # type: ignore[union-attr]
                out.append(_Row(number, clean, self.fold(clean["business_name"])))
            if progress and (done % 1000 == 0 or done == total):
                progress("check", done, total)
        return out

    def _duplicates_in_file(self, rows: list[_Row]) -> list[Problem]:
        found: list[Problem] = []
        seen: dict[tuple[str, str], int] = {}
        names: dict[str, NameIndex] = defaultdict(NameIndex)
        for row in rows:
            values = row.values
            problem = None
            for field in IDENTIFIERS:
                value = values.get(field)
                if value and (field, value) in seen and problem is None:
                    first = seen[(field, value)]
                    message = gettext(IN_FILE, row=first)
                    problem = Problem(row=row.number, field=field, message=message, duplicate_of_row=first)
            if problem is None:
                first = names[values["commune_code"]].find_or_add(row.name_fold, row.number)
                if first is not None:
                    message = gettext(IN_FILE, row=first)
                    problem = Problem(
                        row=row.number, field="business_name", message=message, duplicate_of_row=first
                    )
            if problem is not None:
                found.append(problem)
                continue
            for field in IDENTIFIERS:
                if value := values.get(field):
                    seen[(field, value)] = row.number
        return found

    async def _duplicates_existing(self, rows: list[_Row], *, already: set[int]) -> list[Problem]:
        live_owner = and_(live(), Merchant.owner_phone != ERASED_PHONE)
        candidates = [r for r in rows if r.number not in already]
        existing: dict[tuple[str, str], Duplicate] = {}
        for start in range(0, len(candidates), BATCH):
            batch = candidates[start : start + BATCH]
            for field in IDENTIFIERS:
                column = getattr(Merchant, field)
                values = list({r.values[field] for r in batch if r.values.get(field)})
                if not values:
                    continue
                result = await self.session.execute(
                    select(column, Merchant.id, Merchant.business_name, Merchant.commune_code).where(
                        column.in_(values), live_owner
                    )
                )
                for value, mid, name, commune in result:
                    duplicate = Duplicate(id=mid, business_name=name, commune_code=commune, reason=field)
                    existing.setdefault((field, value), duplicate)
        communes = {row.values["commune_code"] for row in candidates}
        registered = {}
        for code in communes:
            result = await self.session.execute(
                select(Merchant.id, Merchant.business_name, Merchant.name_fold).where(
                    Merchant.commune_code == code, live_owner
                )
            )
            registered[code] = result.all()
        return await offload.run("sheets", self._match_existing, candidates, existing, registered)

    @staticmethod
    def _match_existing(
        candidates: list[_Row], existing: dict[tuple[str, str], Duplicate], registered: dict[str, list[Any]]
    ) -> list[Problem]:
        """The rows that repeat a registered trader's identifier or name (CPU work, off the event loop)."""
        names: dict[str, NameIndex] = {}
        for code, found_names in registered.items():
            index = names[code] = NameIndex()
            for mid, name, name_fold in found_names:
                duplicate = Duplicate(id=mid, business_name=name, commune_code=code, reason="business_name")
                index.add(name_fold, duplicate)
        found = []
        for row in candidates:
            values = row.values
            duplicate = next(
                (
                    existing[(f, values[f])]
                    for f in IDENTIFIERS
                    if values.get(f) and (f, values[f]) in existing
                ),
                None,
            ) or names[values["commune_code"]].find(row.name_fold)
            if duplicate is not None:
                message = gettext(EXISTING, name=duplicate.business_name)
                found.append(
                    Problem(row=row.number, field=duplicate.reason, message=message, duplicate=duplicate)
                )
        return found

    def _records(
        self, rows: list[_Row], fields: list[str], filename: str
    ) -> tuple[list[uuid.UUID], list[tuple], list[tuple]]:
        """The merchants' and audit entries' rows to insert (CPU work, off the event loop)."""
        merchants = []
        entries = []
        source = Path(filename).name[:100]
        merchant_ids, entry_ids = ordered_ids(len(rows)), ordered_ids(len(rows))
        for row, merchant_id, entry_id in zip(rows, merchant_ids, entry_ids, strict=True):
            values = row.values
            folds = _folds(values, fold=self.fold)
            merchants.append(
                (merchant_id, *(values.get(f) for f in fields), values["province_code"], *folds.values())
            )
            changes = {
                f: [None, _plain(v)] for f, v in values.items() if v is not None and f != "province_code"
            }
            changes["source"] = [None, f"{source} #{row.number}"]
            entries.append((entry_id, str(merchant_id), changes, values["province_code"]))
        return merchant_ids, merchants, entries

    async def _write(
        self,
        rows: list[_Row],
        *,
        by: CurrentUser,
        team: Team,
        at: datetime,
        filename: str,
        progress: Progress | None,
    ) -> int:
        fields = [f for f in validation.FIELDS if f != "team_id"]
        columns = ["id", *fields, "province_code", "name_fold", "search_fold"]
        merchant_ids, merchants, entries = await offload.run("sheets", self._records, rows, fields, filename)
        if progress:
            progress("write", 0, len(rows))
        sqlite = (await self.session.connection()).dialect.name == "sqlite"
        if sqlite:  # room for the indexes' pages while 100,000 rows go in; set back below
            await self.session.execute(text("PRAGMA cache_size = -65536"))
        await insert_rows(
            self.session,
            Merchant.__table__,
            columns,
            merchants,
            constants={
                "team_id": team.id,
                "consent_at": at,
                "consent_by_id": by.id,
                "current_stage": "registered",
                "stage_reached_at": at,
                "version": 1,
                "created_at": at,
                "updated_at": at,
                "created_by_id": by.id,
            },
        )
        if progress:
            progress("write", len(rows) // 3, len(rows))
        await insert_rows(
            self.session,
            AuditEntry.__table__,
            ["id", "entity_id", "changes", "province_code"],
            entries,
            constants={"entity_type": ENTITY, "action": "import", "actor_id": by.id, "at": at},
        )
        if progress:
            progress("write", 2 * len(rows) // 3, len(rows))
        await MerchantService(self.session).on_imported(merchant_ids=merchant_ids, by=by, at=at)
        if sqlite:
            await self.session.execute(text("PRAGMA cache_size = -2000"))
        if progress:
            progress("write", len(rows), len(rows))
        return len(rows)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value
