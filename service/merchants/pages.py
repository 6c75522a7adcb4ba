"""Merchant pages: registration, search, the merchant's page, edits and deletion (volunteers), and
for officers the spreadsheet import, merges, erasure and a trader's own data."""

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath, FromQuery, MultipartBody, Parameter
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.guards import requires_user
from service.accounts.schemas import CurrentUser
from service.accounts.services import AccountService
from service.errors import DomainError, FieldErrors, Forbidden, error_page, handle_domain_error
from service.i18n import N_, gettext
from service.merchants import validation
from service.merchants.data_rights import SUBJECT_EXPORTERS, DataRightsService
from service.merchants.imports import (
    COLUMN_LABELS,
    IMPORTERS,
    ImportFileError,
    ImportOptions,
    ImportService,
    UploadStore,
)
from service.merchants.merge import MergeService
from service.merchants.privacy import Visibility, display_phone
from service.merchants.responses import PAGE_SIZE, export_stream, survivor_path
from service.merchants.schemas import (
    AUDIT_ACTIONS,
    CATEGORY_NAMES,
    CONSENT_NAMES,
    FIELD_HINTS,
    FIELD_LABELS,
    KIND_NAMES,
    STAGE_NAMES,
    MerchantFilters,
    MerchantOut,
)
from service.merchants.sections import sections
from service.merchants.services import (
    MERGERS,
    MerchantMerged,
    MerchantService,
    PossibleDuplicates,
    StaleVersion,
)
from service.merchants.spreadsheet import CONSENT_PURPOSES, MAX_BYTES
from service.payments.services import PaymentService
from service.places.services import PlaceService
from service.text import nfc
from service.web import Form, flash, utcnow


def _many(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None or value == "":
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v]


def _form_version(data: dict[str, Any]) -> int | None:
    """The record version a form carries (hidden field), or None when it is missing or garbled."""
    try:
        return int(data.get("version", ""))
    except (TypeError, ValueError):
        return None


def _uuids(values: list[str]) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


def _page_merged(request: Request, exc: MerchantMerged) -> Response:
    if request.method == "GET":
        return Redirect(survivor_path(request, exc.survivor_id), status_code=301)
    return handle_domain_error(request, exc)


def _subject_file(data: dict[str, Any]) -> Response:
    name = f"du-lieu-chu-ho-{utcnow():%Y%m%d-%H%M}.json"
    return Response(
        content=msgspec.json.encode(data),
        media_type=MediaType.JSON,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


async def _options(db: AsyncSession, user: CurrentUser, values: dict[str, Any]) -> dict[str, Any]:
    """Select options limited to the caller's jurisdiction: province → commune → village, and teams."""
    places = PlaceService(db)
    scope = user.scope
    provinces = await places.provinces()
    if scope.level != "all":
        provinces = [p for p in provinces if p.code == user.province_code]
    province = values.get("province_code") or user.province_code
    if province not in {p.code for p in provinces}:
        province = provinces[0].code if len(provinces) == 1 else None
    communes = []
    if province:
        if scope.level == "all":
            communes = await places.communes(province_code=province, limit=5000)
        else:
            communes = [c for c in await places.communes_in_scope(scope=scope) if c.province_code == province]
    commune = values.get("commune_code") or user.commune_code
    if commune not in {c.code for c in communes}:
        commune = communes[0].code if len(communes) == 1 else None
    villages = await places.villages(commune_code=commune) if commune else []
    teams = [
        t for t in await AccountService(db).list_teams(by=user) if t.active and t.commune_code == commune
    ]
    return {
        "provinces": provinces,
        "communes": communes,
        "villages": villages,
        "teams": teams,
        "province_code": province,
        "commune_code": commune,
    }


def _labels() -> dict[str, Any]:
    return {
        "kinds": KIND_NAMES,
        "categories": CATEGORY_NAMES,
        "consents": CONSENT_NAMES,
        "stages": STAGE_NAMES,
        "labels": FIELD_LABELS,
        "hints": FIELD_HINTS,
        "required": validation.REQUIRED,
        "actions": AUDIT_ACTIONS,
        "display_phone": display_phone,
    }


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    """What the user typed, NFC, for redisplay (lists kept as lists)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "_csrf_token":
            continue
        out[key] = [nfc(v) for v in value] if isinstance(value, list) else nfc(str(value))
    out["consent_purposes"] = _many(data, "consent_purposes")
    return out


def _merchant_values(form: dict[str, Any]) -> dict[str, Any]:
    values = {f: form.get(f) for f in validation.FIELDS}
    values["consent_purposes"] = form.get("consent_purposes") or []
    return values


class MerchantPages(Controller):
    path = "/merchants"
    guards = [requires_user]
    exception_handlers = {MerchantMerged: _page_merged}

    @get("/", name="merchants.list")
    async def search(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        q: Annotated[str, Parameter(max_length=200)] = "",
        village_id: FromQuery[str | None] = None,
        team_id: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        stage: FromQuery[str | None] = None,
        commune_code: FromQuery[str | None] = None,
        province_code: FromQuery[str | None] = None,
        cursor: Annotated[str | None, Parameter(max_length=400)] = None,
    ) -> Template:
        # A GET form sends empty selects as "": read ids leniently.
        village = _uuids([village_id or ""])
        team = _uuids([team_id or ""])
        filters = MerchantFilters(
            q=q,
            province_code=province_code or None,
            commune_code=commune_code or None,
            village_id=village[0] if village else None,
            team_id=team[0] if team else None,
            kind=kind or None,
            stage=stage or None,
        )
        page = await MerchantService(db_session).search(
            by=request.user, filters=filters, cursor=cursor or None, limit=PAGE_SIZE
        )
        options = await _options(db_session, request.user, {"commune_code": commune_code})
        return Template(
            "merchants/list.html.j2",
            context={"page": page, "filters": filters, **options, **_labels()},
        )

    @get("/new", name="merchants.new")
    async def new(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
        values = {"id": str(uuid.uuid4()), "consent_purposes": [], "team_id": str(request.user.team_id or "")}
        return await self._form(request, db_session, values=values, errors={})

    @post("/new", name="merchants.create")
    async def create(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Redirect:
        values = _form_values(data)
        if values.get("_refresh"):  # province or commune changed: new options, nothing saved
            return await self._form(request, db_session, values=values, errors={})
        merchants = MerchantService(db_session)
        merchant_id = _uuids([values.get("id", "")])
        if merchant_id and await merchants.visible_ids(by=request.user, ids=merchant_id):
            # The same form sent twice (a double tap, a retry): show what the first one saved.
            return Redirect(
                request.app.route_reverse("merchants.detail", merchant_id=merchant_id[0]), status_code=303
            )
        try:
            merchant = await merchants.register(
                by=request.user,
                values=_merchant_values(values),
                at=utcnow(),
                merchant_id=merchant_id[0] if merchant_id else None,
                not_duplicate_of=_uuids(_many(data, "not_duplicate_of")),
            )
        except FieldErrors as exc:
            return await self._form(request, db_session, values=values, errors=dict(exc.errors), status=422)
        except PossibleDuplicates as exc:
            shown = await merchants.duplicate_views(by=request.user, duplicates=exc.duplicates)
            return await self._form(
                request,
                db_session,
                values=values,
                errors={},
                duplicates=shown,
                status=409,
            )
        flash(request, gettext("Đã đăng ký {name}.", name=merchant.business_name), "success")
        return Redirect(
            request.app.route_reverse("merchants.detail", merchant_id=merchant.id), status_code=303
        )

    async def _form(
        self,
        request: Request,
        db: AsyncSession,
        *,
        values: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
        **extra: Any,
    ) -> Template:
        options = await _options(db, request.user, values)
        return Template(
            "merchants/new.html.j2",
            context={"values": values, "errors": errors, **options, **_labels(), **extra},
            status_code=status,
        )

    @get("/{merchant_id:uuid}", name="merchants.detail")
    async def detail(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Template:
        detail = await MerchantService(db_session).detail(by=request.user, merchant_id=merchant_id)
        payments = await PaymentService(db_session).section(by=request.user, merchant_id=merchant_id)
        parts = await sections(db_session, by=request.user, merchant_id=merchant_id)
        return Template(
            "merchants/detail.html.j2",
            context={
                "detail": detail,
                "m": detail.merchant,
                "payments": payments,
                "sections": parts,
                **_labels(),
            },
        )

    @get("/{merchant_id:uuid}/edit", name="merchants.edit")
    async def edit(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Template:
        merchants = MerchantService(db_session)
        merchant = await merchants.get(by=request.user, merchant_id=merchant_id)
        current = merchants.out(merchant, by=request.user)
        return await self._edit_form(
            request, db_session, current=current, values=_edit_values(current), errors={}
        )

    @post("/{merchant_id:uuid}/edit", name="merchants.update")
    async def update(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        merchants = MerchantService(db_session)
        merchant = await merchants.get(by=request.user, merchant_id=merchant_id)
        values = _form_values(data)
        if values.get("_refresh"):
            current = merchants.out(merchant, by=request.user)
            return await self._edit_form(request, db_session, current=current, values=values, errors={})
        changes = _merchant_values(values)
        # Masked fields are not shown in the form: left empty, they keep their stored value.
        for field in merchants.out(merchant, by=request.user).masked:
            if not changes.get(field):
                changes.pop(field, None)
        try:
            version = int(values.get("version", ""))
        except ValueError:
            version = -1
        try:
            merchant = await merchants.update(
                by=request.user,
                merchant_id=merchant_id,
                version=version,
                changes=changes,
                at=utcnow(),
                not_duplicate_of=_uuids(_many(data, "not_duplicate_of")),
            )
        except FieldErrors as exc:
            current = merchants.out(merchant, by=request.user)
            return await self._edit_form(
                request, db_session, current=current, values=values, errors=dict(exc.errors), status=422
            )
        except StaleVersion as exc:
            # Nothing is overwritten: show both side by side; saving again is a deliberate choice
            # made against the version now stored.
            current = merchants.out(exc.current, by=request.user)
            return await self._edit_form(
                request, db_session, current=current, values=values, errors={}, conflict=True, status=409
            )
        except PossibleDuplicates as exc:
            current = merchants.out(merchant, by=request.user)
            shown = await merchants.duplicate_views(by=request.user, duplicates=exc.duplicates)
            return await self._edit_form(
                request,
                db_session,
                current=current,
                values=values,
                errors={},
                duplicates=shown,
                status=409,
            )
        flash(request, gettext("Đã lưu thay đổi."), "success")
        return Redirect(
            request.app.route_reverse("merchants.detail", merchant_id=merchant.id), status_code=303
        )

    async def _edit_form(
        self,
        request: Request,
        db: AsyncSession,
        *,
        current: MerchantOut,
        values: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
        **extra: Any,
    ) -> Template:
        options = await _options(db, request.user, values)
        return Template(
            "merchants/edit.html.j2",
            context={
                "current": current,
                "values": values,
                "current_values": _edit_values(current),
                "errors": errors,
                **options,
                **_labels(),
                **extra,
            },
            status_code=status,
        )

    @post("/{merchant_id:uuid}/delete", name="merchants.delete")
    async def remove(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        """Asks first (a page that says who goes); deletes when that page's button is pressed."""
        version = _form_version(data)
        if data.get("confirm") != "1":
            shown = await MerchantService(db_session).get(by=request.user, merchant_id=merchant_id)
            detail_url = request.app.route_reverse("merchants.detail", merchant_id=merchant_id)
            return Template(
                "confirm.html.j2",
                context={
                    "title": gettext("Xóa tiểu thương {name}?", name=shown.business_name),
                    "text": gettext("{name} sẽ bị xóa khỏi danh sách tiểu thương.", name=shown.business_name),
                    "action": request.url.path,
                    "hidden": {"version": "" if version is None else version},
                    "confirm": gettext("Xóa tiểu thương"),
                    "back": detail_url,
                },
            )
        merchant = await MerchantService(db_session).delete(
            by=request.user, merchant_id=merchant_id, at=utcnow(), version=version
        )
        flash(request, gettext("Đã xóa {name}.", name=merchant.business_name), "success")
        return Redirect(request.app.route_reverse("merchants.list"), status_code=303)


def _edit_values(m: MerchantOut) -> dict[str, Any]:
    """The stored merchant as form values; masked fields are left empty (they are not editable
    blind: empty keeps the stored value)."""
    values: dict[str, Any] = {
        f: "" if getattr(m, f, None) is None else str(getattr(m, f)) for f in validation.FIELDS
    }
    for field in m.masked:
        values[field] = ""
    if m.owner_phone and "owner_phone" not in m.masked:
        values["owner_phone"] = display_phone(m.owner_phone, _ALL)
    values["consent_purposes"] = list(m.consent_purposes)
    values["province_code"] = m.province_code
    values["version"] = str(m.version)
    return values


_ALL = Visibility(phone=True, id_number=True)


IMPORT_MAX_BODY = MAX_BYTES + 1024 * 1024  # room for the multipart envelope around a file at the limit


def _import_too_large(request: Request, exc: RequestEntityTooLarge) -> Template:
    return error_page(413, gettext("Tệp quá lớn (tối đa {mb} MB).", mb=MAX_BYTES // (1024 * 1024)))


def _import_options(data: Any) -> ImportOptions:
    team = _uuids([str(data.get("team_id") or "")])
    return ImportOptions(
        team_id=team[0] if team else None,
        kind=data.get("kind") or None,
        category=data.get("category") or None,
        paper_consent=tuple(p for p in CONSENT_PURPOSES if p in _many(data, "paper_consent")),
        skip_invalid=data.get("skip_invalid") in ("1", "on", "true"),
    )


def _option_values(options: ImportOptions) -> dict[str, Any]:
    return {
        "team_id": str(options.team_id or ""),
        "kind": options.kind or "",
        "category": options.category or "",
        "paper_consent": list(options.paper_consent),
        "skip_invalid": options.skip_invalid,
    }


async def _import_page(
    request: Request,
    db: AsyncSession,
    *,
    values: dict[str, Any],
    error: DomainError | None = None,
    report: Any = None,
    status: int = 200,
    note: str | None = None,
) -> Template:
    user: CurrentUser = request.user
    teams = []
    if user.team_id is None:  # officers choose the team the traders belong to
        teams = [t for t in await AccountService(db).list_teams(by=user) if t.active]
    return Template(
        "merchants/import.html.j2",
        context={
            "values": values,
            # One list of errors for the summary on top and the fields: the file's (or an option's)
            # problem, or, after a refused import, the report to look at again.
            "errors": {error.field or "file": error.text()} if error else ({"report": note} if note else {}),
            "report": report,
            "teams": teams,
            "column_labels": COLUMN_LABELS,
            "max_mb": MAX_BYTES // (1024 * 1024),
            **_labels(),
        },
        status_code=status,
    )


async def _merge_page(
    request: Request,
    db: AsyncSession,
    *,
    merchant_id: uuid.UUID,
    q: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    """The record that survives, its likely duplicates (the registration form's rule) and, when the
    leader searches, other records in reach to pick from."""
    user: CurrentUser = request.user
    merchants = MerchantService(db)
    survivor = await merchants.get(by=user, merchant_id=merchant_id)
    if user.role not in MERGERS:
        raise Forbidden()
    identifying = ("owner_phone", "tax_code", "owner_id_number", "business_name", "commune_code")
    found = await merchants.find_duplicates(
        values={f: getattr(survivor, f) for f in identifying}, exclude_id=survivor.id
    )
    visible = await merchants.visible_ids(by=user, ids=[d.id for d in found])
    candidates = [
        merchants.out(await merchants.get(by=user, merchant_id=d.id), by=user)
        for d in found
        if d.id in visible
    ]
    results: list[MerchantOut] = []
    if q.strip():
        page = await merchants.search(by=user, filters=MerchantFilters(q=q), limit=PAGE_SIZE)
        listed = {c.id for c in candidates} | {survivor.id}
        results = [m for m in page.items if m.id not in listed]
    return Template(
        "merchants/merge.html.j2",
        context={
            "m": merchants.out(survivor, by=user),
            "candidates": candidates,
            "reasons": {d.id: d.reason for d in found},
            "results": results,
            "q": q,
            "errors": errors or {},
            **_labels(),
        },
        status_code=status,
    )


class MerchantManagerPages(Controller):
    """Import, export, merge and the trader's data rights: team leaders and officers (each handler
    checks its own roles; volunteers get 403)."""

    path = "/merchants"
    guards = [requires_user]
    exception_handlers = {MerchantMerged: _page_merged}

    @get("/import", name="merchants.import")
    async def import_form(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
        if request.user.role not in IMPORTERS:
            raise Forbidden()
        return await _import_page(request, db_session, values=_option_values(ImportOptions()))

    @post(
        "/import",
        name="merchants.import_preview",
        request_max_body_size=IMPORT_MAX_BODY,
        exception_handlers={RequestEntityTooLarge: _import_too_large},
    )
    async def import_preview(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: MultipartBody[dict[str, Any]]
    ) -> Template:
        """The dry run: the file is checked and kept (by its hash, for this user); nothing is written.
        Shown directly, not redirected: a file cannot survive a Post/Redirect/Get, and this writes nothing."""
        user: CurrentUser = request.user
        if user.role not in IMPORTERS:
            raise Forbidden()
        options = _import_options(data)
        values = _option_values(options)
        upload = data.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            error = DomainError(N_("Hãy chọn tệp CSV hoặc Excel (.xlsx)."), field="file")
            return await _import_page(request, db_session, values=values, error=error, status=422)
        try:
            content = await upload.read(MAX_BYTES + 1)
        finally:
            await upload.close()
        filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:120]
        try:
            report = await ImportService(db_session).run(
                by=user, data=content, filename=filename, options=options, at=utcnow(), commit=False
            )
        except ImportFileError as exc:
            return await _import_page(request, db_session, values=values, error=exc, status=422)
        store = UploadStore(request.app.state.settings.private_dir)
        store.save(user_id=user.id, data=content, filename=filename)
        return await _import_page(request, db_session, values=values, report=report)

    @post("/import/commit", name="merchants.import_commit")
    async def import_commit(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Redirect:
        """Write the previewed file: all rows or none (unless the importer chose to skip bad rows)."""
        user: CurrentUser = request.user
        if user.role not in IMPORTERS:
            raise Forbidden()
        options = _import_options(data)
        values = _option_values(options)
        filename, sha256 = str(data.get("filename") or ""), str(data.get("sha256") or "")
        store = UploadStore(request.app.state.settings.private_dir)
        content = store.load(user_id=user.id, sha256=sha256, filename=filename)
        if content is None:
            error = DomainError(N_("Không còn tệp đã xem trước; hãy tải tệp lên lại."), field="file")
            return await _import_page(request, db_session, values=values, error=error, status=409)
        try:
            report = await ImportService(db_session).run(
                by=user, data=content, filename=filename, options=options, at=utcnow(), commit=True
            )
        except ImportFileError as exc:
            return await _import_page(request, db_session, values=values, error=exc, status=422)
        if not report.committed:
            note = gettext("Chưa nhập dòng nào: tệp còn dòng lỗi hoặc trùng.")
            return await _import_page(
                request, db_session, values=values, report=report, note=note, status=409
            )
        store.remove(user_id=user.id, sha256=sha256, filename=filename)
        message = gettext("Đã nhập {n} tiểu thương từ {file}.", n=report.imported, file=filename)
        if skipped := report.rows - report.imported:
            message += " " + gettext("Đã bỏ qua {n} dòng lỗi hoặc trùng.", n=skipped)
        flash(request, message, "success")
        return Redirect(request.app.route_reverse("merchants.list"), status_code=303)

    @post("/import/cancel", name="merchants.import_cancel")
    async def import_cancel(self, request: Request, data: Form) -> Redirect:
        """Drop a previewed file without importing it."""
        user: CurrentUser = request.user
        if user.role not in IMPORTERS:
            raise Forbidden()
        store = UploadStore(request.app.state.settings.private_dir)
        store.remove(
            user_id=user.id, sha256=str(data.get("sha256") or ""), filename=str(data.get("filename") or "")
        )
        flash(request, gettext("Đã hủy: tệp đã xem trước không được nhập và đã xóa khỏi máy chủ."), "success")
        return Redirect(request.app.route_reverse("merchants.import"), status_code=303)

    @get("/export.csv", name="merchants.export_csv")
    async def export_csv(self, request: Request) -> Stream:
        return export_stream(request, "csv")

    @get("/export.xlsx", name="merchants.export_xlsx")
    async def export_xlsx(self, request: Request) -> Stream:
        return export_stream(request, "xlsx")

    @get("/{merchant_id:uuid}/merge", name="merchants.merge_form")
    async def merge_form(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        q: Annotated[str, Parameter(max_length=200)] = "",
    ) -> Template:
        return await _merge_page(request, db_session, merchant_id=merchant_id, q=q)

    @post("/{merchant_id:uuid}/merge", name="merchants.merge")
    async def merge(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        duplicate = _uuids([str(data.get("duplicate_id") or "")])
        q = nfc(str(data.get("q") or ""))[:200]
        if not duplicate:
            errors = {"duplicate_id": gettext("Hãy chọn bản ghi trùng cần gộp.")}
            return await _merge_page(
                request, db_session, merchant_id=merchant_id, q=q, errors=errors, status=422
            )
        version = _form_version(data)
        try:
            other = await MerchantService(db_session).get(by=request.user, merchant_id=duplicate[0])
            name = other.business_name
            await MergeService(db_session).merge(
                by=request.user,
                survivor_id=merchant_id,
                duplicate_id=duplicate[0],
                at=utcnow(),
                survivor_version=version,
            )
        except (StaleVersion, FieldErrors, MerchantMerged) as exc:
            message = exc.errors[0][1] if isinstance(exc, FieldErrors) else exc.text()
            return await _merge_page(
                request, db_session, merchant_id=merchant_id, q=q, errors={"form": message}, status=409
            )
        flash(request, gettext("Đã gộp {name} vào bản ghi này.", name=name), "success")
        return Redirect(
            request.app.route_reverse("merchants.detail", merchant_id=merchant_id), status_code=303
        )

    @get("/{merchant_id:uuid}/erase", name="merchants.erase_form")
    async def erase_form(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> Template:
        detail = await MerchantService(db_session).detail(by=request.user, merchant_id=merchant_id)
        if not detail.can_erase:
            raise Forbidden()
        return Template(
            "merchants/erase.html.j2", context={"detail": detail, "m": detail.merchant, **_labels()}
        )

    @post("/{merchant_id:uuid}/erase", name="merchants.erase")
    async def erase(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Redirect:
        version = _form_version(data)
        await DataRightsService(db_session).erase(
            by=request.user, merchant_id=merchant_id, at=utcnow(), version=version
        )
        flash(request, gettext("Đã xóa dữ liệu cá nhân; số liệu thống kê được giữ lại."), "success")
        return Redirect(
            request.app.route_reverse("merchants.detail", merchant_id=merchant_id), status_code=303
        )

    @get("/data-subject", name="merchants.data_subject")
    async def data_subject_form(self, request: Request) -> Template:
        if request.user.role not in SUBJECT_EXPORTERS:
            raise Forbidden()
        return Template("merchants/data_subject.html.j2", context={"values": {}, "errors": {}})

    @post("/data-subject", name="merchants.data_subject_export", status_code=200)
    async def data_subject_export(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: Form
    ) -> Template | Response:
        """A download, not a redirect: the file is the answer; its only write is the audit entry."""
        values = {k: nfc(str(data.get(k) or "")) for k in ("phone", "id_number")}
        try:
            result = await DataRightsService(db_session).subject_export(
                by=request.user, phone=values["phone"], id_number=values["id_number"], at=utcnow()
            )
        except FieldErrors as exc:
            return Template(
                "merchants/data_subject.html.j2",
                context={"values": values, "errors": dict(exc.errors)},
                status_code=422,
            )
        return _subject_file(result)
