"""Payment accounts and the merchant's payment QR; printed posters are in printing.py.

Every read and write starts from `MerchantService.get`, so the caller's jurisdiction applies.
Audit entries have entity type "payment_account" and the merchant's id as entity id, so the
onboarding timeline shows them; each names its account in `changes["payment_account_id"]`.
Actions: create, update (the primary flag), delete (soft removal), print_poster.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit, idempotency
from service.accounts.schemas import CurrentUser
from service.errors import DomainError, FieldErrors, Forbidden, NotFound
from service.i18n import N_, gettext
from service.merchants import events
from service.merchants.models import Merchant
from service.merchants.privacy import is_erased
from service.merchants.services import Erased, MerchantService
from service.payments import banks, codes, render, validation
from service.payments.models import ENTITY, PaymentAccount, Poster
from service.payments.privacy import (
    is_erased_account,
    may_change_accounts,
    sees_account_number,
    shown_account,
)
from service.payments.schemas import (
    PAYMENT_ACTIONS,
    PaymentAccountIn,
    PaymentAccountOut,
    PaymentEvent,
    PaymentQrOut,
    PaymentSection,
)
from service.payments.vietqr import VietQR, encode

AUDIT_READERS = ("team_leader", "commune_officer", "province_officer", "admin")
_SNAPSHOT = ("merchant_id", "bank_bin", "service", "account", "holder_name", "is_primary")


class NoPaymentAccount(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Tiểu thương chưa có tài khoản nhận tiền. Hãy thêm tài khoản trước."))


class AccountErased(DomainError):
    """The trader's personal data was erased: the account keeps only its bank, so there is no QR."""

    status_code = 410

    def __init__(self) -> None:
        super().__init__(
            N_("Dữ liệu cá nhân của tiểu thương này đã được xóa theo yêu cầu; không còn mã QR nhận tiền.")
        )


class AccountsChanged(DomainError):
    """Another tablet changed this merchant's accounts between our read and our write."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__(
            N_("Tài khoản nhận tiền vừa được người khác thay đổi. Hãy tải lại trang rồi thử lại.")
        )


class AccountIdTaken(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Mã bản ghi (id) này đã được dùng cho một tài khoản khác."), field="id")


def _snapshot(account: PaymentAccount) -> dict[str, Any]:
    return {field: getattr(account, field) for field in _SNAPSHOT}


class PaymentService:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.merchants = MerchantService(session)

    # --- reading -------------------------------------------------------------------------------

    async def _live(self, merchant_id: uuid.UUID) -> list[PaymentAccount]:
        """Live accounts, primary first, then in the order they were added."""
        return list(
            await self.session.scalars(
                select(PaymentAccount)
                .where(PaymentAccount.merchant_id == merchant_id, PaymentAccount.removed_at.is_(None))
                .order_by(PaymentAccount.is_primary.desc(), PaymentAccount.created_at, PaymentAccount.id)
            )
        )

    async def primary(self, merchant_id: uuid.UUID) -> PaymentAccount | None:
        return await self.session.scalar(
            select(PaymentAccount).where(
                PaymentAccount.merchant_id == merchant_id,
                PaymentAccount.removed_at.is_(None),
                PaymentAccount.is_primary.is_(True),
            )
        )

    def out(self, account: PaymentAccount, *, full: bool) -> PaymentAccountOut:
        bank = banks.by_bin(account.bank_bin)
        return PaymentAccountOut(
            id=account.id,
            merchant_id=account.merchant_id,
            bank_bin=account.bank_bin,
            bank_short_name=bank.short_name if bank else None,
            bank_name=bank.full_name if bank else None,
            service=account.service,  # type: ignore[arg-type]
            account="" if is_erased_account(account) else shown_account(account.account, full=full),
            account_masked=not full,
            holder_name=account.holder_name,
            is_primary=account.is_primary,
            created_at=account.created_at,
            created_by_id=account.created_by_id,
        )

    async def accounts(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> list[PaymentAccountOut]:
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        full = sees_account_number(by, team_id=m.team_id)
        return [self.out(a, full=full) for a in await self._live(m.id)]

    async def section(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> PaymentSection:
        """What the merchant page shows about payments."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        full = sees_account_number(by, team_id=m.team_id)
        live = await self._live(m.id)
        erased = is_erased(m)
        primary = None if erased else next((a for a in live if a.is_primary), None)
        poster = await live_poster(self.session, primary) if primary else None
        return PaymentSection(
            merchant_id=m.id,
            accounts=[self.out(a, full=full) for a in live],
            qr_version=render.version(payload_of(primary)) if primary else None,
            can_change=not erased and may_change_accounts(by, team_id=m.team_id),
            poster_code=codes.display(poster.code) if poster else None,
            history=await self.history(by=by, merchant=m) if by.role in AUDIT_READERS else None,
            erased=erased,
        )

    async def history(self, *, by: CurrentUser, merchant: Merchant) -> list[PaymentEvent]:
        """The audit entries of the merchant's payment accounts, newest first, numbers per role."""
        full = sees_account_number(by, team_id=merchant.team_id)
        labels = {}
        for account in await self.session.scalars(
            select(PaymentAccount).where(PaymentAccount.merchant_id == merchant.id)
        ):
            bank = banks.by_bin(account.bank_bin)
            name = bank.short_name if bank else account.bank_bin
            if is_erased_account(account):
                labels[str(account.id)] = name
            else:
                labels[str(account.id)] = f"{name} · {shown_account(account.account, full=full)}"
        events = []
        for entry in await audit.entries(self.session, entity_type=ENTITY, entity_id=merchant.id):
            action = entry.action
            if action == "update" and "is_primary" in entry.changes:
                action = "primary" if entry.changes["is_primary"][1] else "not_primary"
            account_id = entry.changes.get("payment_account_id", [None, None])[1]
            code = entry.changes.get("poster_code", [None, None])[1]
            events.append(
                PaymentEvent(
                    at=entry.at,
                    actor_name=entry.actor_name,
                    action=PAYMENT_ACTIONS.get(action, action),
                    account=labels.get(account_id, ""),
                    poster_code=codes.display(code) if code else None,
                )
            )
        return sorted(events, key=lambda e: e.at, reverse=True)

    async def payment_qr(
        self,
        *,
        by: CurrentUser,
        merchant_id: uuid.UUID,
        amount: str | None = None,
        purpose: str | None = None,
    ) -> PaymentQrOut:
        """The primary account's VietQR; an amount or a memo makes it a one-payment (dynamic) QR."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        if is_erased(m):
            raise AccountErased()
        errors: list[tuple[str, str]] = []
        parsed: dict[str, Any] = {}
        for field, parse, raw in (
            ("amount", validation.parse_amount, amount),
            ("purpose", validation.parse_purpose, purpose),
        ):
            try:
                parsed[field] = parse(raw)
            except FieldErrors as exc:
                errors.extend(exc.errors)
        if errors:
            raise FieldErrors(errors)
        primary = await self.primary(m.id)
        if primary is None:
            raise NoPaymentAccount()
        qr = VietQR(
            bank_bin=primary.bank_bin,
            account=primary.account,
            service=primary.service,  # type: ignore[arg-type]
            amount=parsed["amount"],
            purpose=parsed["purpose"],
            static=parsed["amount"] is None and parsed["purpose"] is None,
        )
        return PaymentQrOut(
            payload=encode(qr),
            bank_bin=qr.bank_bin,
            account=qr.account,
            amount=qr.amount,
            purpose=qr.purpose,
        )

    # --- writing -------------------------------------------------------------------------------

    async def editable_merchant(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> Merchant:
        """The merchant, if the caller may change its payment accounts (404 unseen, 403 officers,
        409 once the trader's data was erased: the record is read-only)."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        if is_erased(m):
            raise Erased()
        if not may_change_accounts(by, team_id=m.team_id):
            raise Forbidden(N_("Chỉ tổ phụ trách tiểu thương mới thêm hoặc sửa tài khoản nhận tiền."))
        return m

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError:
            # The partial unique indexes: another tablet saved a primary or the same number first.
            await self.session.rollback()
            raise AccountsChanged() from None

    async def add(
        self,
        *,
        by: CurrentUser,
        merchant_id: uuid.UUID,
        values: Mapping[str, Any],
        at: datetime,
        account_id: uuid.UUID | None = None,
    ) -> PaymentAccount:
        """Save an account. The first one is primary; a new primary demotes the old one. Announced
        (`payment_account_added`): onboarding records `bank_account` unless the trader holds it."""
        account_id = account_id or uuid.uuid4()
        async with events.changing(
            self.session, "payment_account_added", [merchant_id], at=at, by=by.id, account_id=account_id
        ):
            m = await self.editable_merchant(by=by, merchant_id=merchant_id)
            clean, errors = validation.clean(values, default_holder=m.owner_name)
            live = await self._live(m.id)
            if not errors and any(
                a.bank_bin == clean["bank_bin"] and a.account == clean["account"] for a in live
            ):
                errors.append(("account", gettext("Tài khoản này đã có trong danh sách của tiểu thương.")))
            if errors:
                raise FieldErrors(errors)
            first = not live
            primary = first or clean["is_primary"]
            demoted = [a for a in live if a.is_primary] if primary else []
            for old in demoted:
                old.is_primary = False
                old.updated_at = at
            await self._flush()  # before the new primary is inserted: the index allows one at a time
            account = PaymentAccount(
                id=account_id,
                merchant_id=m.id,
                province_code=m.province_code,
                bank_bin=clean["bank_bin"],
                service=clean["service"],
                account=clean["account"],
                holder_name=clean["holder_name"],
                is_primary=primary,
                created_at=at,
                created_by_id=by.id,
                updated_at=at,
            )
            self.session.add(account)
            await self._flush()
            await self.audit(account, "create", audit.diff({}, _snapshot(account)), by=by, at=at)
            for old in demoted:
                await self.audit(old, "update", {"is_primary": [True, False]}, by=by, at=at)
            return account

    async def add_once(
        self,
        *,
        by: CurrentUser,
        merchant_id: uuid.UUID,
        data: PaymentAccountIn,
        key: str | None,
        request_hash: str,
        at: datetime,
    ) -> tuple[idempotency.Replay, bool]:
        """`add` over the API, safe to retry: (status and body, whether it is a replay).

        The key is the Idempotency-Key header, else the client id ("payment_account:<id>"); the
        same rules as merchant registration (MerchantService.register_once)."""
        if key is None and data.id is not None:
            key = f"payment_account:{data.id}"
        if key is not None:
            if replay := await idempotency.find(
                self.session, user_id=by.id, key=key, request_hash=request_hash
            ):
                return replay, True
            if data.id is not None and await self.session.get(PaymentAccount, data.id) is not None:
                raise AccountIdTaken()
        values = {f: getattr(data, f) for f in validation.FIELDS}
        try:
            account = await self.add(by=by, merchant_id=merchant_id, values=values, at=at, account_id=data.id)
            m = await self.merchants.get(by=by, merchant_id=merchant_id)
            body = msgspec.json.encode(self.out(account, full=sees_account_number(by, team_id=m.team_id)))
            if key is not None:
                await idempotency.store(
                    self.session,
                    user_id=by.id,
                    key=key,
                    request_hash=request_hash,
                    status_code=201,
                    body=body,
                    at=at,
                    merchant_id=merchant_id,
                )
        except (IntegrityError, AccountsChanged):
            # A concurrent request with the same key or id committed first: replay its result.
            await self.session.rollback()
            if key is not None and (
                replay := await idempotency.find(
                    self.session, user_id=by.id, key=key, request_hash=request_hash
                )
            ):
                return replay, True
            raise AccountsChanged() from None
        return idempotency.Replay(status_code=201, body=body), False

    async def _account(
        self, merchant: Merchant, account_id: uuid.UUID
    ) -> tuple[PaymentAccount, list[PaymentAccount]]:
        live = await self._live(merchant.id)
        account = next((a for a in live if a.id == account_id), None)
        if account is None:
            raise NotFound()
        return account, live

    async def make_primary(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, account_id: uuid.UUID, at: datetime
    ) -> PaymentAccount:
        m = await self.editable_merchant(by=by, merchant_id=merchant_id)
        account, live = await self._account(m, account_id)
        if account.is_primary:
            return account
        demoted = [a for a in live if a.is_primary]
        for old in demoted:
            old.is_primary = False
            old.updated_at = at
        await self._flush()
        account.is_primary = True
        account.updated_at = at
        await self._flush()
        await self.audit(account, "update", {"is_primary": [False, True]}, by=by, at=at)
        for old in demoted:
            await self.audit(old, "update", {"is_primary": [True, False]}, by=by, at=at)
        return account

    async def remove(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, account_id: uuid.UUID, at: datetime
    ) -> PaymentAccount:
        """Soft removal: the row stays for the audit and for `/v/` ("no longer valid"); its posters
        are revoked. Removing the primary makes the most recently added other account primary.
        Announced (`payment_account_removed`): without accounts left, the stages that need one regress."""
        await events.lock(self.session, [merchant_id])
        m = await self.editable_merchant(by=by, merchant_id=merchant_id)
        account, live = await self._account(m, account_id)
        remaining = sum(1 for a in live if a is not account)
        async with events.changing(
            self.session,
            "payment_account_removed",
            [m.id],
            at=at,
            by=by.id,
            account_id=account.id,
            remaining=remaining,
        ):
            was_primary = account.is_primary
            account.is_primary = False
            account.removed_at = at
            account.removed_by_id = by.id
            account.updated_at = at
            await self._flush()
            others = sorted((a for a in live if a is not account), key=lambda a: a.created_at)
            promoted = others[-1] if was_primary and others else None
            if promoted is not None:
                promoted.is_primary = True
                promoted.updated_at = at
                await self._flush()
            await self.session.execute(
                update(Poster)
                .where(Poster.payment_account_id == account.id, Poster.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            changes = {"removed_at": [None, at.isoformat()]}
            if was_primary:
                changes["is_primary"] = [True, False]
            await self.audit(account, "delete", changes, by=by, at=at)
            if promoted is not None:
                await self.audit(promoted, "update", {"is_primary": [False, True]}, by=by, at=at)
            return account

    async def audit(
        self,
        account: PaymentAccount,
        action: str,
        changes: Mapping[str, list[Any]],
        *,
        by: CurrentUser,
        at: datetime,
    ) -> None:
        """Record a change of `account` (see the module docstring for the format)."""
        # Filed under the merchant (the onboarding timeline reads the entries whose entity_id is the
        # merchant's), naming the account in every entry.
        await audit.record(
            self.session,
            entity_type=ENTITY,
            entity_id=account.merchant_id,
            action=action,
            actor_id=by.id,
            at=at,
            changes={
                "payment_account_id": [None if action == "create" else str(account.id), str(account.id)],
                **changes,
            },
            province_code=account.province_code,
        )


def payload_of(account: PaymentAccount) -> str:
    """The static stall QR of an account."""
    return encode(
        VietQR(bank_bin=account.bank_bin, account=account.account, service=account.service)  # type: ignore[arg-type]
    )


async def live_poster(session: AsyncSession, account: PaymentAccount) -> Poster | None:
    """The account's poster that still verifies, if one was printed."""
    return await session.scalar(
        select(Poster)
        .where(
            Poster.payment_account_id == account.id,
            Poster.payload == payload_of(account),
            Poster.revoked_at.is_(None),
        )
        .order_by(Poster.printed_at.desc())
        .limit(1)
    )
