import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, delete, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service import idempotency
from service.accounts.guards import requires_user
from service.accounts.schemas import CurrentUser
from service.accounts.services import AccountService
from service.audit import AuditOut
from service.errors import FieldErrors, Forbidden
from service.i18n import gettext
from service.merchants import validation
from service.merchants.privacy import Visibility, display_phone
from service.merchants.schemas import (
    AUDIT_ACTIONS,
    CATEGORY_NAMES,
    CONSENT_NAMES,
    FIELD_LABELS,
    KIND_NAMES,
    STAGE_NAMES,
    ConflictOut,
    DuplicatesOut,
    MerchantFilters,
    MerchantIn,
    MerchantOut,
    MerchantPage,
    MerchantPatch,
)
from service.merchants.services import MerchantService, PossibleDuplicates, StaleVersion
from service.payments.services import PaymentService
from service.places.services import PlaceService
from service.text import nfc
from service.web import flash

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
PAGE_SIZE = 25


def utcnow() -> datetime:
    return datetime.now(UTC)


def _many(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None or value == "":
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v]


def _uuids(values: list[str]) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


# --- JSON API ------------------------------------------------------------------------------------


class MerchantApi(Controller):
    path = "/api/v1/merchants"
    tags = ["merchants"]
    guards = [requires_user]

    @post("/", name="api.merchants.create", status_code=201)
    async def create(
        self,
        request: Request,
        db_session: AsyncSession,
        data: MerchantIn,
        idempotency_key: Annotated[
            str | None, Parameter(header="Idempotency-Key", required=False, min_length=1, max_length=200)
        ] = None,
    ) -> Response[MerchantOut]:
        """Register a trader. 409 with `duplicates` for a likely existing record (repeat with their
        ids in `not_duplicate_of` to register anyway). Retries with the same Idempotency-Key, or
        the same client `id`, return the first response (201, same body, header
        `Idempotent-Replayed: true`); the same key with another body is refused with 422."""
        merchants = MerchantService(db_session)
        digest = idempotency.request_hash("POST", "/api/v1/merchants", data)
        try:
            result, replayed = await merchants.register_once(
                by=request.user, data=data, key=idempotency_key, request_hash=digest, at=utcnow()
            )
        except PossibleDuplicates as exc:
            return Response(DuplicatesOut(detail=exc.text(), duplicates=exc.duplicates), status_code=409)  # type: ignore[return-value]
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(
            content=result.body, status_code=result.status_code, media_type=MediaType.JSON, headers=headers
        )  # type: ignore[return-value]

    @get("/", name="api.merchants.list")
    async def search(
        self,
        request: Request,
        db_session: AsyncSession,
        q: Annotated[str, Parameter(max_length=200)] = "",
        commune_code: str | None = None,
        village_id: uuid.UUID | None = None,
        team_id: uuid.UUID | None = None,
        kind: str | None = None,
        category: str | None = None,
        stage: str | None = None,
        sort: Annotated[str, Parameter(pattern="^(recent|name)$")] = "recent",
        cursor: Annotated[str | None, Parameter(max_length=400)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = PAGE_SIZE,
    ) -> MerchantPage:
        """Search (accent- and case-insensitive; phone in any format) with filters; cursor pagination."""
        filters = MerchantFilters(
            q=q,
            commune_code=commune_code,
            village_id=village_id,
            team_id=team_id,
            kind=kind,
            category=category,
            stage=stage,
            sort=sort,  # type: ignore[arg-type]
        )
        return await MerchantService(db_session).search(
            by=request.user, filters=filters, cursor=cursor, limit=limit
        )

    @get("/{merchant_id:uuid}", name="api.merchants.detail")
    async def detail(self, request: Request, db_session: AsyncSession, merchant_id: uuid.UUID) -> MerchantOut:
        merchants = MerchantService(db_session)
        return merchants.out(await merchants.get(by=request.user, merchant_id=merchant_id), by=request.user)

    @get("/{merchant_id:uuid}/audit", name="api.merchants.audit")
    async def audit_entries(
        self, request: Request, db_session: AsyncSession, merchant_id: uuid.UUID
    ) -> list[AuditOut]:
        """The change history, for team leaders and officers; personal values masked per role."""
        detail = await MerchantService(db_session).detail(by=request.user, merchant_id=merchant_id)
        if detail.audit is None:
            raise Forbidden()
        return detail.audit

    @patch("/{merchant_id:uuid}", name="api.merchants.update")
    async def update(
        self, request: Request, db_session: AsyncSession, merchant_id: uuid.UUID, data: MerchantPatch
    ) -> Response[MerchantOut]:
        """Change fields. `version` must be the one last read: otherwise 409 with `current`."""
        merchants = MerchantService(db_session)
        try:
            merchant = await merchants.update(
                by=request.user,
                merchant_id=merchant_id,
                version=data.version,
                changes=data.changes(),
                at=utcnow(),
                not_duplicate_of=data.not_duplicate_of,
            )
        except StaleVersion as exc:
            current = merchants.out(exc.current, by=request.user)
            return Response(ConflictOut(detail=exc.text(), current=current), status_code=409)  # type: ignore[return-value]
        except PossibleDuplicates as exc:
            return Response(DuplicatesOut(detail=exc.text(), duplicates=exc.duplicates), status_code=409)  # type: ignore[return-value]
        return Response(merchants.out(merchant, by=request.user))

    @delete("/{merchant_id:uuid}", name="api.merchants.delete", status_code=204)
    async def remove(
        self, request: Request, db_session: AsyncSession, merchant_id: uuid.UUID, version: int | None = None
    ) -> None:
        await MerchantService(db_session).delete(
            by=request.user, merchant_id=merchant_id, at=utcnow(), version=version
        )


# --- tablet pages --------------------------------------------------------------------------------


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

    @get("/", name="merchants.list")
    async def search(
        self,
        request: Request,
        db_session: AsyncSession,
        q: Annotated[str, Parameter(max_length=200)] = "",
        village_id: str | None = None,
        team_id: str | None = None,
        kind: str | None = None,
        stage: str | None = None,
        commune_code: str | None = None,
        cursor: Annotated[str | None, Parameter(max_length=400)] = None,
    ) -> Template:
        # A GET form sends empty selects as "": read ids leniently.
        village = _uuids([village_id or ""])
        team = _uuids([team_id or ""])
        filters = MerchantFilters(
            q=q,
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
    async def new(self, request: Request, db_session: AsyncSession) -> Template:
        values = {"id": str(uuid.uuid4()), "consent_purposes": [], "team_id": str(request.user.team_id or "")}
        return await self._form(request, db_session, values=values, errors={})

    @post("/new", name="merchants.create")
    async def create(self, request: Request, db_session: AsyncSession, data: Form) -> Template | Redirect:
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
            visible = await merchants.visible_ids(by=request.user, ids=[d.id for d in exc.duplicates])
            return await self._form(
                request,
                db_session,
                values=values,
                errors={},
                duplicates=exc.duplicates,
                linked=visible,
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
    async def detail(self, request: Request, db_session: AsyncSession, merchant_id: uuid.UUID) -> Template:
        detail = await MerchantService(db_session).detail(by=request.user, merchant_id=merchant_id)
        payments = await PaymentService(db_session).section(by=request.user, merchant_id=merchant_id)
        return Template(
            "merchants/detail.html.j2",
            context={"detail": detail, "m": detail.merchant, "payments": payments, **_labels()},
        )

    @get("/{merchant_id:uuid}/edit", name="merchants.edit")
    async def edit(self, request: Request, db_session: AsyncSession, merchant_id: uuid.UUID) -> Template:
        merchants = MerchantService(db_session)
        merchant = await merchants.get(by=request.user, merchant_id=merchant_id)
        current = merchants.out(merchant, by=request.user)
        return await self._edit_form(
            request, db_session, current=current, values=_edit_values(current), errors={}
        )

    @post("/{merchant_id:uuid}/edit", name="merchants.update")
    async def update(
        self, request: Request, db_session: AsyncSession, merchant_id: uuid.UUID, data: Form
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
            visible = await merchants.visible_ids(by=request.user, ids=[d.id for d in exc.duplicates])
            return await self._edit_form(
                request,
                db_session,
                current=current,
                values=values,
                errors={},
                duplicates=exc.duplicates,
                linked=visible,
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
        self, request: Request, db_session: AsyncSession, merchant_id: uuid.UUID, data: Form
    ) -> Redirect:
        try:
            version = int(data.get("version", ""))
        except (TypeError, ValueError):
            version = None
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
