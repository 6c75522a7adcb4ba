"""A trader's rights over their personal data: a copy of everything held about them, and erasure.

Data-subject export (team leaders for their team, officers for their area, admins):
- found by the owner's phone or CCCD (also as a personal tax code), across the caller's
  jurisdiction, including deleted and merged records, since those still hold the data;
- returns, as JSON, the records unmasked (the copy is for the trader, handed over by someone who
  checked who is asking), their audit entries, and every row of other tables that points at them
  (visits, stage events, payment accounts... found through `relations.references()`);
- is itself audited ("subject_export" on each record, with no personal values).
The phone or CCCD is sent in a POST body, never in a URL, so it stays out of access logs.

Erasure (commune officers for their commune, admins; not team leaders, since erasure cannot be
undone and the commune answers for the data):
- anonymizes the personal fields of the record and of the records merged into it: owner name →
  "Đã xóa", phone → "" (the marker of an erased record), CCCD, a personal (12-digit) tax code,
  notes and GPS → empty, consent → withdrawn; the business name too, unless the trader is a
  cooperative or micro-enterprise (a legal person's name). Kind, category, place, team, stage
  and dates stay, so counts and statistics do not change; the record stays in lists as "Đã xóa";
- scrubs the same fields in the earlier audit entries of those records: the audit keeps who did
  what and when, but no longer the erased values, otherwise the history would undo the erasure.
  The erasure's own entry lists the erased fields, not their values;
- empties the stored replays of retried requests about the record, whatever their age, leaving
  a tombstone of each key so that a late retry is refused (410) instead of registering the person
  again (`idempotency.forget`);
- lets the tables of other areas scrub their rows through `relations.erase_hook`;
- leaves an erased record read-only: an edit would be a new registration, with new consent.
"""

import uuid
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from service import audit, idempotency
from service.accounts.schemas import CurrentUser
from service.audit import AuditEntry
from service.errors import FieldErrors, Forbidden
from service.i18n import gettext
from service.merchants import events
from service.merchants.identifiers import IdentifierError, normalize_cccd, normalize_phone
from service.merchants.models import Merchant
from service.merchants.privacy import ERASED_NAME, ERASED_PHONE, LEGAL_PERSON_KINDS, is_erased
from service.merchants.relations import ERASE_HOOKS, references
from service.merchants.services import ENTITY, ERASERS, Erased, MerchantService, StaleVersion, _folds
from service.merchants.validation import IDENTIFIER_MESSAGES

SUBJECT_EXPORTERS = ("team_leader", "commune_officer", "province_officer", "admin")
# Personal fields and what erasure leaves in them; business_name and tax_code depend on the record.
ERASED_VALUES: dict[str, Any] = {
    "owner_name": ERASED_NAME,
    "owner_phone": ERASED_PHONE,
    "owner_id_number": None,
    "notes": None,
    "lat": None,
    "lon": None,
}
SCRUBBED = audit.SCRUBBED  # what an audit entry keeps of an erased value


class ErasureResult(msgspec.Struct, kw_only=True):
    merchant_ids: list[uuid.UUID]  # the record and the records merged into it
    fields: list[str]
    audit_entries_scrubbed: int


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _erased_fields(m: Merchant) -> dict[str, Any]:
    values = dict(ERASED_VALUES)
    if m.kind not in LEGAL_PERSON_KINDS:
        values["business_name"] = ERASED_NAME
    if m.tax_code and len(m.tax_code) == 12:  # a personal ID number used as tax code
        values["tax_code"] = None
    return values


class DataRightsService:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def subject_export(
        self, *, by: CurrentUser, phone: str | None, id_number: str | None, at: datetime
    ) -> dict[str, Any]:
        if by.role not in SUBJECT_EXPORTERS:
            raise Forbidden()
        errors = []
        conditions = []
        query: dict[str, str] = {}
        if phone and phone.strip():
            try:
                query["phone"] = normalize_phone(phone, mobile_only=False)
                conditions.append(Merchant.owner_phone == query["phone"])
            except IdentifierError as exc:
                errors.append(("phone", gettext(IDENTIFIER_MESSAGES[exc.code])))
        if id_number and id_number.strip():
            try:
                query["id_number"] = normalize_cccd(id_number)
                conditions += [
                    Merchant.owner_id_number == query["id_number"],
                    Merchant.tax_code == query["id_number"],
                ]
            except IdentifierError as exc:
                errors.append(("id_number", gettext(IDENTIFIER_MESSAGES[exc.code])))
        if not errors and not conditions:
            errors.append(("phone", gettext("Cần số điện thoại hoặc số CCCD của chủ hộ.")))
        if errors:
            raise FieldErrors(errors)
        scope = MerchantService(self.session).in_scope(by)
        merchants = list(
            await self.session.scalars(
                select(Merchant).where(or_(*conditions), scope).order_by(Merchant.created_at, Merchant.id)
            )
        )
        ids = [m.id for m in merchants]
        entries = []
        if ids:
            rows = await self.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity_type == ENTITY, AuditEntry.entity_id.in_([str(i) for i in ids]))
                .order_by(AuditEntry.at, AuditEntry.id)
            )
            entries = [
                {
                    "merchant_id": e.entity_id,
                    "action": e.action,
                    "actor_id": _plain(e.actor_id),
                    "at": _plain(e.at),
                    "changes": _plain(e.changes),
                }
                for e in rows
            ]
        related: dict[str, list[dict[str, Any]]] = {}
        for ref in references() if ids else ():
            result = await self.session.execute(select(ref.table).where(ref.column.in_(ids)))
            found = [{k: _plain(v) for k, v in row._mapping.items()} for row in result]
            if found:
                related[ref.name] = found
        for m in merchants:
            await audit.record(
                self.session,
                entity_type=ENTITY,
                entity_id=m.id,
                action="subject_export",
                actor_id=by.id,
                at=at,
                changes={},
                province_code=m.province_code,
            )
        columns = [c.key for c in Merchant.__table__.columns if c.key not in ("name_fold", "search_fold")]
        return {
            "generated_at": at.isoformat(),
            "query": query,
            "merchants": [{c: _plain(getattr(m, c)) for c in columns} for m in merchants],
            "audit": entries,
            "related": related,
        }

    async def erase(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, at: datetime, version: int | None = None
    ) -> ErasureResult:
        if by.role not in ERASERS:
            raise Forbidden()
        merchants = MerchantService(self.session)
        await events.lock(self.session, [merchant_id])
        m = await merchants.get(by=by, merchant_id=merchant_id)
        if is_erased(m):
            raise Erased()
        if version is not None and version != m.version:
            raise StaleVersion(m)
        targets = [m, *await self.session.scalars(select(Merchant).where(Merchant.merged_into_id == m.id))]
        ids = [t.id for t in targets]
        erased_fields: set[str] = set()
        scrub: dict[str, set[str]] = {}  # merchant id -> fields to scrub in its audit entries
        for target in targets:
            values = _erased_fields(target)
            for field, value in values.items():
                setattr(target, field, value)
            target.consent_purposes = []
            names = {
                "business_name": target.business_name,
                "owner_name": target.owner_name,
                "market": target.market,
            }
            for field, value in _folds(names).items():
                setattr(target, field, value)
            target.updated_at = at
            erased_fields |= set(values)
            scrub[str(target.id)] = set(values)
        try:
            await self.session.flush()
        except StaleDataError:
            await self.session.rollback()
            raise StaleVersion(await merchants.get(by=by, merchant_id=merchant_id)) from None

        scrubbed = 0
        entries = await self.session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == ENTITY, AuditEntry.entity_id.in_(list(scrub)))
        )
        for entry in entries:
            fields = scrub[entry.entity_id]
            changes = dict(entry.changes)
            touched = False
            for field in fields & set(changes):
                before, after = changes[field]
                changes[field] = [None if before is None else SCRUBBED, None if after is None else SCRUBBED]
                touched = True
            if touched:
                entry.changes = changes
                scrubbed += 1

        for ref in references():
            if hook := ERASE_HOOKS.get(ref.table.name):
                await hook(self.session, ref, ids, at)
        await idempotency.forget(self.session, merchant_ids=ids)
        for target in targets:
            await audit.record(
                self.session,
                entity_type=ENTITY,
                entity_id=target.id,
                action="erase",
                actor_id=by.id,
                at=at,
                changes={"erased": [None, sorted(scrub[str(target.id)])]},
                province_code=target.province_code,
            )
        await self.session.flush()
        await events.announce(self.session, "erased", ids, at=at, by=by.id)
        return ErasureResult(merchant_ids=ids, fields=sorted(erased_fields), audit_entries_scrubbed=scrubbed)
