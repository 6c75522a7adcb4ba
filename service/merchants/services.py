"""Merchants: registration with consent, duplicate checks, scoped search, edits with optimistic
locking, soft delete, audit. Every query goes through `_visible(by)`: the caller's jurisdiction."""

import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from service import audit, idempotency
from service.accounts.models import Team, User
from service.accounts.schemas import CurrentUser
from service.audit import AuditEntry, AuditOut
from service.errors import DomainError, FieldErrors, Forbidden, NotFound
from service.i18n import N_, gettext
from service.merchants import events, validation
from service.merchants.models import Merchant, live
from service.merchants.privacy import (
    ERASED_PHONE,
    Visibility,
    display_phone,
    is_erased,
    mask_name,
    masked_fields,
    shown,
    visibility,
)
from service.merchants.schemas import (
    DUPLICATE_REASONS,
    Duplicate,
    DuplicateView,
    MerchantDetail,
    MerchantFilters,
    MerchantIn,
    MerchantOut,
    MerchantPage,
    to_json,
)
from service.merchants.search import (
    CursorError,
    decode_cursor,
    encode_cursor,
    length_window,
    parse_query,
    similar_names,
)
from service.places.models import Commune, Province, Village
from service.text import fold

ENTITY = "merchant"
EDITABLE = validation.FIELDS
# Fields that identify a trader: changing one re-runs the duplicate check.
AREAS = ("commune_code", "village_id", "team_id")  # where a merchant is counted in reports
IDENTIFYING = ("owner_phone", "tax_code", "owner_id_number", "business_name", "commune_code")
NAME_CANDIDATES = 500  # bound on the similar-name comparison inside one commune
DELETERS = ("team_leader", "commune_officer", "province_officer", "admin")
AUDIT_READERS = ("team_leader", "commune_officer", "province_officer", "admin")
MERGERS = ("team_leader", "commune_officer", "province_officer", "admin")  # merge.py
ERASERS = ("commune_officer", "admin")  # data_rights.py


class PossibleDuplicates(DomainError):
    status_code = 409

    def __init__(self, duplicates: list[Duplicate]):
        super().__init__(N_("Có thể tiểu thương này đã được đăng ký."))
        self.duplicates = duplicates


class StaleVersion(DomainError):
    """Someone saved the merchant after the caller read it; `current` is what is stored now."""

    status_code = 409

    def __init__(self, current: Merchant):
        super().__init__(N_("Bản ghi đã được người khác sửa trong lúc bạn sửa. Hãy xem lại rồi lưu."))
        self.current = current


class MerchantMerged(DomainError):
    """The record was merged into another (it is a tombstone); `survivor_id` is where it lives on.

    Pages answer a GET with 301 to the survivor's page, the API with 301 and this body; writes to
    a tombstone are refused with 409, since the caller's version belongs to a record that is gone.
    """

    status_code = 409

    def __init__(self, survivor_id: uuid.UUID):
        super().__init__(N_("Bản ghi này đã được gộp vào một bản ghi khác."))
        self.survivor_id = survivor_id


class Erased(DomainError):
    """The trader's personal data was erased: the record is kept for statistics and is read-only."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Dữ liệu cá nhân của tiểu thương này đã được xóa."))


class IdTaken(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Mã bản ghi (id) này đã được dùng cho một tiểu thương khác."), field="id")


def _snapshot(m: Merchant) -> dict[str, Any]:
    return {field: getattr(m, field) for field in EDITABLE}


def _folds(values: Mapping[str, Any], fold: Callable[[str], str] = fold) -> dict[str, str]:
    """The folded search columns. Bulk imports pass a memoized `fold` (markets repeat down a file)."""
    parts = [values.get("business_name"), values.get("owner_name"), values.get("market")]
    return {
        "name_fold": fold(values["business_name"]),
        "search_fold": " ".join(fold(p) for p in parts if p)[:400],
    }


class MerchantService:
    def __init__(self, session: AsyncSession):
        self.session = session

    # --- reading -------------------------------------------------------------------------------

    def in_scope(self, by: CurrentUser) -> ColumnElement[bool]:
        """The caller's jurisdiction, whatever the record's state (live, deleted, merged)."""
        return by.scope.where(
            province=Merchant.province_code, commune=Merchant.commune_code, team=Merchant.team_id
        )

    def _visible(self, by: CurrentUser) -> ColumnElement[bool]:
        return and_(live(), self.in_scope(by))

    def where_visible(self, by: CurrentUser) -> ColumnElement[bool]:
        """The filter every list of merchants uses (exports too): live, in the caller's jurisdiction."""
        return self._visible(by)

    async def get(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> Merchant:
        """The merchant if the caller may see it; 404 otherwise (never 403: existence is not told).

        A merged record in the caller's jurisdiction raises MerchantMerged with the survivor's id."""
        row = await self.session.scalar(select(Merchant).where(Merchant.id == merchant_id, self._visible(by)))
        if row is None:
            survivor = await self.session.scalar(
                select(Merchant.merged_into_id).where(
                    Merchant.id == merchant_id,
                    Merchant.merged_into_id.is_not(None),
                    Merchant.deleted_at.is_(None),
                    self.in_scope(by),
                )
            )
            if survivor is not None:
                raise MerchantMerged(survivor)
            raise NotFound()
        return row

    def seen_by(self, by: CurrentUser, m: Merchant) -> Visibility:
        return visibility(by, team_id=m.team_id)

    def out(self, m: Merchant, *, by: CurrentUser) -> MerchantOut:
        seen = self.seen_by(by, m)
        raw = {f: getattr(m, f) for f in ("owner_phone", "owner_id_number", "tax_code")}
        return MerchantOut(
            id=m.id,
            version=m.version,
            kind=m.kind,
            business_name=m.business_name,
            category=m.category,
            owner_name=m.owner_name,
            owner_phone=shown("owner_phone", m.owner_phone, seen),
            owner_id_number=shown("owner_id_number", m.owner_id_number, seen),
            tax_code=shown("tax_code", m.tax_code, seen),
            province_code=m.province_code,
            commune_code=m.commune_code,
            village_id=m.village_id,
            market=m.market,
            stall=m.stall,
            lat=m.lat,
            lon=m.lon,
            team_id=m.team_id,
            notes=m.notes,
            consent_purposes=list(m.consent_purposes),
            consent_at=m.consent_at,
            consent_by_id=m.consent_by_id,
            current_stage=m.current_stage,
            stage_reached_at=m.stage_reached_at,
            last_visit_at=m.last_visit_at,
            next_follow_up=m.next_follow_up,
            created_at=m.created_at,
            updated_at=m.updated_at,
            created_by_id=m.created_by_id,
            masked=masked_fields(raw, seen),
        )

    async def detail(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> MerchantDetail:
        m = await self.get(by=by, merchant_id=merchant_id)
        province = await self.session.get(Province, m.province_code)
        commune = await self.session.get(Commune, m.commune_code)
        village = await self.session.get(Village, m.village_id) if m.village_id else None
        team = await self.session.get(Team, m.team_id)
        rows = await self.session.execute(
            select(User.id, User.full_name).where(User.id.in_({m.consent_by_id, m.created_by_id}))
        )
        names = {user_id: name for user_id, name in rows}
        history = None
        if by.role in AUDIT_READERS:
            seen = self.seen_by(by, m)
            history = await self.history(merchant_id=m.id)
            for entry in history:
                entry.changes = {
                    f: [shown(f, before, seen), shown(f, after, seen)]
                    for f, (before, after) in entry.changes.items()
                }
        return MerchantDetail(
            merchant=self.out(m, by=by),
            owner_phone_display=display_phone(m.owner_phone, self.seen_by(by, m)),
            province_name=province.full_name if province else m.province_code,
            commune_name=commune.full_name if commune else m.commune_code,
            village_name=village.name if village else None,
            team_name=team.name if team else "",
            consent_by_name=names.get(m.consent_by_id),
            created_by_name=names.get(m.created_by_id),
            audit=history,
            can_edit=not is_erased(m),
            can_delete=by.role in DELETERS,
            can_merge=by.role in MERGERS,
            can_erase=by.role in ERASERS and not is_erased(m),
            erased=is_erased(m),
        )

    async def history(self, *, merchant_id: uuid.UUID, limit: int = 200) -> list[AuditOut]:
        """The audit entries of the merchant and of the records merged into it, newest first.

        Entries stay under the id they were written for (a merge does not rewrite history)."""
        merged = await self.session.scalars(select(Merchant.id).where(Merchant.merged_into_id == merchant_id))
        ids = [str(merchant_id), *(str(i) for i in merged)]
        rows = await self.session.execute(
            select(AuditEntry, User.full_name)
            .outerjoin(User, User.id == AuditEntry.actor_id)
            .where(AuditEntry.entity_type == ENTITY, AuditEntry.entity_id.in_(ids))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        return [
            AuditOut(
                id=e.id,
                action=e.action,
                actor_id=e.actor_id,
                actor_name=name,
                at=e.at,
                changes=dict(e.changes),
            )
            for e, name in rows
        ]

    async def search(
        self, *, by: CurrentUser, filters: MerchantFilters, cursor: str | None = None, limit: int = 25
    ) -> MerchantPage:
        conditions = [self._visible(by)]
        # Partial digits only for readers who see phones: others could rebuild a masked number.
        query = parse_query(filters.q, partial_phone=visibility(by, team_id=by.team_id).phone)
        text = [Merchant.search_fold.contains(word, autoescape=True) for word in query.text.split()]
        phone = []
        if query.phone:
            phone.append(Merchant.owner_phone == query.phone)
        if query.digits:
            phone.append(Merchant.owner_phone.contains(query.digits, autoescape=True))
        if phone:
            conditions.append(or_(and_(*text), *phone) if text else or_(*phone))
        elif text:
            conditions.extend(text)
        for column, value in (
            (Merchant.province_code, filters.province_code),
            (Merchant.commune_code, filters.commune_code),
            (Merchant.village_id, filters.village_id),
            (Merchant.team_id, filters.team_id),
            (Merchant.kind, filters.kind),
            (Merchant.category, filters.category),
            (Merchant.current_stage, filters.stage),
        ):
            if value:
                conditions.append(column == value)
        total = await self.session.scalar(select(func.count()).select_from(Merchant).where(*conditions))

        if filters.sort == "name":
            first, order = Merchant.name_fold, (Merchant.name_fold.asc(), Merchant.id.asc())
        else:
            first, order = Merchant.created_at, (Merchant.created_at.desc(), Merchant.id.desc())
        if cursor:
            try:
                key, last_id = decode_cursor(cursor, filters.sort)
            except CursorError as exc:
                raise FieldErrors([("cursor", gettext("Giá trị không hợp lệ."))]) from exc
            if filters.sort == "name":
                conditions.append(or_(first > key, and_(first == key, Merchant.id > last_id)))
            else:
                conditions.append(or_(first < key, and_(first == key, Merchant.id < last_id)))
        rows = list(
            await self.session.scalars(select(Merchant).where(*conditions).order_by(*order).limit(limit + 1))
        )
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = encode_cursor(
                filters.sort, (last.name_fold if filters.sort == "name" else last.created_at, last.id)
            )
        return MerchantPage(
            items=[self.out(m, by=by) for m in rows], total=total or 0, next_cursor=next_cursor
        )

    async def visible_ids(self, *, by: CurrentUser, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        ids = set(ids)
        if not ids:
            return set()
        return set(
            await self.session.scalars(select(Merchant.id).where(Merchant.id.in_(ids), self._visible(by)))
        )

    # --- checks --------------------------------------------------------------------------------

    async def _check_places(
        self, *, by: CurrentUser, values: dict[str, Any], errors: list[tuple[str, str]]
    ) -> Commune | None:
        """Commune (403 outside the caller's jurisdiction), village in commune, team in scope.

        Fills `values["team_id"]` with the caller's team when none was given."""
        failed = {f for f, _ in errors}
        commune = None
        if values.get("commune_code"):
            commune = await self.session.get(Commune, values["commune_code"])
            if commune is None:
                errors.append(("commune_code", gettext("Mã xã/phường không tồn tại.")))
            elif not by.scope.allows_area(province_code=commune.province_code, commune_code=commune.code):
                raise Forbidden(N_("Xã/phường này nằm ngoài phạm vi quản lý của bạn."))
        if values.get("village_id") and "village_id" not in failed:
            village = await self.session.get(Village, values["village_id"])
            if village is None or (commune is not None and village.commune_code != commune.code):
                errors.append(("village_id", gettext("Thôn/tổ dân phố không thuộc xã/phường đã chọn.")))
        if "team_id" in failed:
            return commune
        if values.get("team_id") is None:
            values["team_id"] = by.team_id
        if values["team_id"] is None:
            errors.append(("team_id", gettext("Bắt buộc.")))
            return commune
        team = await self.session.scalar(
            select(Team).where(
                Team.id == values["team_id"],
                Team.active.is_(True),
                by.scope.where(province=Team.province_code, commune=Team.commune_code, team=Team.id),
            )
        )
        if team is None:
            errors.append(("team_id", gettext("Tổ không tồn tại hoặc nằm ngoài phạm vi của bạn.")))
        elif commune is not None and team.commune_code != commune.code:
            errors.append(("team_id", gettext("Tổ này không hoạt động ở xã/phường đã chọn.")))
        return commune

    async def find_duplicates(
        self, *, values: Mapping[str, Any], exclude_id: uuid.UUID | None = None
    ) -> list[Duplicate]:
        """Likely existing records of the same trader, anywhere in the country for phone and ID
        numbers, inside the commune for similar names. Deliberately unscoped, so the result carries
        nothing personal (id, business name, commune, reason)."""
        found: dict[uuid.UUID, Duplicate] = {}
        # An erased record keeps only statistics: it is nobody's duplicate any more.
        others = [live(), Merchant.owner_phone != ERASED_PHONE]
        others += [Merchant.id != exclude_id] if exclude_id else []
        columns = (Merchant.id, Merchant.business_name, Merchant.commune_code)
        for field in ("owner_phone", "tax_code", "owner_id_number"):
            if value := values.get(field):
                rows = await self.session.execute(
                    select(*columns).where(getattr(Merchant, field) == value, *others).limit(20)
                )
                for mid, name, commune in rows:
                    found.setdefault(
                        mid, Duplicate(id=mid, business_name=name, commune_code=commune, reason=field)
                    )
        if values.get("business_name") and values.get("commune_code"):
            name = fold(values["business_name"])
            low, high = length_window(name)
            rows = await self.session.execute(
                select(*columns, Merchant.name_fold)
                .where(
                    Merchant.commune_code == values["commune_code"],
                    func.length(Merchant.name_fold).between(low, high),
                    *others,
                )
                .order_by(Merchant.created_at.desc())
                .limit(NAME_CANDIDATES)
            )
            for mid, business_name, commune, other in rows:
                if mid not in found and similar_names(name, other):
                    found[mid] = Duplicate(
                        id=mid, business_name=business_name, commune_code=commune, reason="business_name"
                    )
        return list(found.values())

    async def duplicate_views(
        self, *, by: CurrentUser, duplicates: Iterable[Duplicate]
    ) -> list[DuplicateView]:
        """The possible duplicates as the page shows them: the commune by name, the reason in
        words, owner, market and stall, who registered it and when. A record the reader may not
        open shows the owner's initials and the registering team, not the person."""
        duplicates = list(duplicates)
        if not duplicates:
            return []
        visible = await self.visible_ids(by=by, ids=[d.id for d in duplicates])
        rows = (
            await self.session.execute(
                select(Merchant, Commune.full_name, User.full_name, Team.name)
                .join(Commune, Commune.code == Merchant.commune_code)
                .join(User, User.id == Merchant.created_by_id)
                .join(Team, Team.id == Merchant.team_id)
                .where(Merchant.id.in_([d.id for d in duplicates]))
            )
        ).all()
        found = {m.id: (m, commune, person, team) for m, commune, person, team in rows}
        views = []
        for d in duplicates:
            if d.id not in found:
                continue
            m, commune, person, team = found[d.id]
            linked = d.id in visible
            views.append(
                DuplicateView(
                    id=d.id,
                    business_name=m.business_name,
                    commune_name=commune,
                    reason=DUPLICATE_REASONS[d.reason],
                    owner_name=m.owner_name if linked else mask_name(m.owner_name),
                    market=m.market,
                    stall=m.stall,
                    registered_at=m.created_at,
                    registered_by=person if linked else team,
                    linked=linked,
                )
            )
        return views

    async def _refuse_duplicates(
        self, values: Mapping[str, Any], confirmed: Iterable[uuid.UUID], exclude_id: uuid.UUID | None = None
    ) -> None:
        confirmed = set(confirmed)
        duplicates = [
            d
            for d in await self.find_duplicates(values=values, exclude_id=exclude_id)
            if d.id not in confirmed
        ]
        if duplicates:
            raise PossibleDuplicates(duplicates)

    # --- writing -------------------------------------------------------------------------------

    async def register(
        self,
        *,
        by: CurrentUser,
        values: Mapping[str, Any],
        at: datetime,
        merchant_id: uuid.UUID | None = None,
        not_duplicate_of: Iterable[uuid.UUID] = (),
        registered_at: datetime | None = None,
    ) -> Merchant:
        """Validate everything, refuse likely duplicates unless confirmed, save with consent.
        `registered_at`: when a tablet that was offline registered the trader (default `at`)."""
        clean, errors = validation.clean(values)
        errors += validation.registration_time(registered_at, now=at)
        commune = await self._check_places(by=by, values=clean, errors=errors)
        if errors or commune is None:
            raise FieldErrors(errors)
        await self._refuse_duplicates(clean, not_duplicate_of)
        registered = registered_at or at
        merchant = Merchant(
            id=merchant_id or uuid.uuid4(),
            **clean,
            **_folds(clean),
            province_code=commune.province_code,
            consent_at=registered,
            consent_by_id=by.id,
            current_stage="registered",
            stage_reached_at=registered,
            created_at=registered,
            updated_at=at,
            created_by_id=by.id,
        )
        self.session.add(merchant)
        await self.session.flush()
        await audit.record(
            self.session,
            entity_type=ENTITY,
            entity_id=merchant.id,
            action="create",
            actor_id=by.id,
            at=at,
            changes=audit.diff({}, _snapshot(merchant)),
            province_code=merchant.province_code,
        )
        await self.on_registered(merchant=merchant, by=by, at=registered)
        return merchant

    async def on_registered(self, *, merchant: Merchant, by: CurrentUser, at: datetime) -> None:
        """Announce the registration (onboarding records stage 1; the report counters count it)."""
        await events.announce(self.session, "registered", [merchant.id], at=at, by=by.id)

    async def on_imported(self, *, merchant_ids: list[uuid.UUID], by: CurrentUser, at: datetime) -> None:
        """The bulk twin of `on_registered`: a spreadsheet import inserted these merchants (stage
        "registered", consent recorded by the importer) in this transaction."""
        await events.announce(self.session, "imported", merchant_ids, at=at, by=by.id)

    async def register_once(
        self, *, by: CurrentUser, data: MerchantIn, key: str | None, request_hash: str, at: datetime
    ) -> tuple[idempotency.Replay, bool]:
        """Registration over the API, safe to retry: (status and body, whether it is a replay).

        The idempotency key is the Idempotency-Key header, else the client-generated id
        ("merchant:<id>"). A retry with the same body gets the first response again, byte for byte
        and with the same status (201); the same key with another body is refused (422)."""
        if key is None and data.id is not None:
            key = f"merchant:{data.id}"
        if key is not None:
            if replay := await idempotency.find(
                self.session, user_id=by.id, key=key, request_hash=request_hash
            ):
                return replay, True
            if data.id is not None and (existing := await self.session.get(Merchant, data.id)) is not None:
                raise idempotency.Gone() if is_erased(existing) else IdTaken()
        values = {f: getattr(data, f) for f in validation.FIELDS}
        try:
            merchant = await self.register(
                by=by,
                values=values,
                at=at,
                merchant_id=data.id,
                not_duplicate_of=data.not_duplicate_of,
                registered_at=data.registered_at,
            )
            body = to_json(self.out(merchant, by=by))
            if key is not None:
                await idempotency.store(
                    self.session,
                    user_id=by.id,
                    key=key,
                    request_hash=request_hash,
                    status_code=201,
                    body=body,
                    at=at,
                    merchant_id=merchant.id,
                )
        except IntegrityError:
            # A concurrent request with the same key or id committed first: replay its result.
            await self.session.rollback()
            if key is not None and (
                replay := await idempotency.find(
                    self.session, user_id=by.id, key=key, request_hash=request_hash
                )
            ):
                return replay, True
            if data.id is not None and await self.session.get(Merchant, data.id) is not None:
                raise IdTaken() from None
            raise
        return idempotency.Replay(status_code=201, body=body), False

    async def update(
        self,
        *,
        by: CurrentUser,
        merchant_id: uuid.UUID,
        version: int,
        changes: Mapping[str, Any],
        at: datetime,
        not_duplicate_of: Iterable[uuid.UUID] = (),
    ) -> Merchant:
        """Apply the changed fields if `version` is still current; otherwise StaleVersion (409). An
        edit that moves the merchant to another commune, village or team is announced (`moved`)."""
        await events.lock(self.session, [merchant_id])  # first: a stage or visit at the same moment waits
        m = await self.get(by=by, merchant_id=merchant_id)
        if is_erased(m):
            raise Erased()
        if version != m.version:
            raise StaleVersion(m)
        fields = [f for f in EDITABLE if f in changes]
        clean, errors = validation.clean(changes, fields=fields, required=validation.REQUIRED & set(fields))
        before = _snapshot(m)
        merged = {**before, **clean}
        if "lat" in clean or "lon" in clean:
            merged_errors: list[tuple[str, str]] = []
            _, merged_errors = validation.clean(merged, fields=("lat", "lon"), required=())
            errors.extend(e for e in merged_errors if e[0] not in {f for f, _ in errors})
        place_errors: list[tuple[str, str]] = []
        commune = await self._check_places(by=by, values=merged, errors=place_errors)
        errors.extend(place_errors)
        if errors or commune is None:
            raise FieldErrors(errors)
        after = {f: merged[f] for f in EDITABLE}
        changed = audit.diff(before, after)
        if not changed:
            return m
        if set(changed) & set(IDENTIFYING):
            await self._refuse_duplicates(after, not_duplicate_of, exclude_id=m.id)
        moved = sorted(set(changed) & set(AREAS))
        async with (
            events.changing(self.session, "moved", [m.id], at=at, by=by.id, changed=moved)
            if moved
            else nullcontext()
        ):
            for field in changed:
                setattr(m, field, after[field])
            if "consent_purposes" in changed:
                m.consent_at, m.consent_by_id = at, by.id
            for field, value in _folds(after).items():
                setattr(m, field, value)
            m.province_code = commune.province_code
            m.updated_at = at
            try:
                await self.session.flush()
            except StaleDataError:
                # Saved by someone else between our read and our write (the UPDATE matched no row).
                await self.session.rollback()
                raise StaleVersion(await self.get(by=by, merchant_id=merchant_id)) from None
        await audit.record(
            self.session,
            entity_type=ENTITY,
            entity_id=m.id,
            action="update",
            actor_id=by.id,
            at=at,
            changes=changed,
            province_code=m.province_code,
        )
        return m

    async def delete(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, at: datetime, version: int | None = None
    ) -> Merchant:
        """Soft delete: the row stays (audit, later merge) but leaves every list and lookup. Announced
        (`deleted`): the merchant leaves the figures, its volunteers' visits stay in them."""
        await events.lock(self.session, [merchant_id])
        m = await self.get(by=by, merchant_id=merchant_id)
        if by.role not in DELETERS:
            raise Forbidden()
        if version is not None and version != m.version:
            raise StaleVersion(m)
        async with events.changing(self.session, "deleted", [m.id], at=at, by=by.id):
            m.deleted_at = at
            m.updated_at = at
            try:
                await self.session.flush()
            except StaleDataError:
                await self.session.rollback()
                raise StaleVersion(await self.get(by=by, merchant_id=merchant_id)) from None
        await audit.record(
            self.session,
            entity_type=ENTITY,
            entity_id=m.id,
            action="delete",
            actor_id=by.id,
            at=at,
            changes={"deleted_at": [None, at.isoformat()]},
            province_code=m.province_code,
        )
        return m
