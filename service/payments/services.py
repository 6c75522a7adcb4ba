"""Payment accounts, the merchant's payment QR, and printed posters with their verification codes.

Every read and write starts from `MerchantService.get`, so the caller's jurisdiction applies; the
public `/v/{code}` lookup is the one deliberate exception and returns only what the poster prints.
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
from service.accounts.models import User
from service.accounts.schemas import CurrentUser
from service.errors import DomainError, FieldErrors, Forbidden, NotFound
from service.i18n import N_, gettext
from service.merchants.models import Merchant
from service.merchants.services import MerchantService
from service.onboarding.services import OnboardingService
from service.onboarding.stages import StageCode
from service.payments import banks, codes, render, validation
from service.payments.models import PaymentAccount, Poster
from service.payments.poster import PosterData, mask_account
from service.payments.privacy import may_change_accounts, sees_account_number, shown_account
from service.payments.schemas import (
    PAYMENT_ACTIONS,
    MarketSheet,
    PaymentAccountIn,
    PaymentAccountOut,
    PaymentEvent,
    PaymentQrOut,
    PaymentSection,
    PosterView,
    SheetRow,
    VerifyView,
)
from service.payments.vietqr import VietQR, encode
from service.places.models import Commune, Province
from service.text import fold

ENTITY = "payment_account"
AUDIT_READERS = ("team_leader", "commune_officer", "province_officer", "admin")
MAX_PER_PDF = 200  # posters in one market PDF (~50 kB and ~25 ms each); bigger markets print in parts
_SNAPSHOT = ("merchant_id", "bank_bin", "service", "account", "holder_name", "is_primary")


class NoPaymentAccount(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Tiểu thương chưa có tài khoản nhận tiền. Hãy thêm tài khoản trước."))


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


async def _stage_reached(
    session: AsyncSession,
    *,
    merchant_id: uuid.UUID,
    stage: StageCode,
    at: datetime,
    by: CurrentUser,
    source_id: uuid.UUID | None = None,
) -> None:
    """An onboarding stage reached by a payments action, in the caller's transaction: "bank_account"
    when a merchant's first payment account is saved, "qr_issued" when a poster is printed. The
    onboarding service records it only if the merchant does not hold the stage already."""
    await OnboardingService(session).record_automatic(
        merchant_id=merchant_id, stage=stage, at=at, by=by, source_id=source_id
    )


def _snapshot(account: PaymentAccount) -> dict[str, Any]:
    return {field: getattr(account, field) for field in _SNAPSHOT}


def verify_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/v/{codes.display(code)}"


def printed_url(url: str) -> str:
    # Browsers add https:// to what is typed; a plain-http server (a commune's laptop) needs it said.
    return url.removeprefix("https://")


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

    async def _primary(self, merchant_id: uuid.UUID) -> PaymentAccount | None:
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
            account=shown_account(account.account, full=full),
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
        primary = next((a for a in live if a.is_primary), None)
        poster = await self._live_poster(primary) if primary else None
        return PaymentSection(
            merchant_id=m.id,
            accounts=[self.out(a, full=full) for a in live],
            qr_version=render.version(_payload(primary)) if primary else None,
            can_change=may_change_accounts(by, team_id=m.team_id),
            poster_code=codes.display(poster.code) if poster else None,
            history=await self.history(by=by, merchant=m) if by.role in AUDIT_READERS else None,
        )

    async def history(self, *, by: CurrentUser, merchant: Merchant) -> list[PaymentEvent]:
        """The audit entries of the merchant's payment accounts, newest first, numbers per role."""
        full = sees_account_number(by, team_id=merchant.team_id)
        labels = {}
        for account in await self.session.scalars(
            select(PaymentAccount).where(PaymentAccount.merchant_id == merchant.id)
        ):
            bank = banks.by_bin(account.bank_bin)
            number = shown_account(account.account, full=full)
            labels[str(account.id)] = f"{bank.short_name if bank else account.bank_bin} · {number}"
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
        primary = await self._primary(m.id)
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
        """The merchant, if the caller may change its payment accounts (404 unseen, 403 officers)."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
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
        """Save an account. The first one is primary; a new primary demotes the old one."""
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
            id=account_id or uuid.uuid4(),
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
        await self._audit(account, "create", audit.diff({}, _snapshot(account)), by=by, at=at)
        for old in demoted:
            await self._audit(old, "update", {"is_primary": [True, False]}, by=by, at=at)
        if first:
            await _stage_reached(
                self.session, merchant_id=m.id, stage="bank_account", at=at, by=by, source_id=account.id
            )
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
        await self._audit(account, "update", {"is_primary": [False, True]}, by=by, at=at)
        for old in demoted:
            await self._audit(old, "update", {"is_primary": [True, False]}, by=by, at=at)
        return account

    async def remove(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, account_id: uuid.UUID, at: datetime
    ) -> PaymentAccount:
        """Soft removal: the row stays for the audit and for `/v/` ("no longer valid"); its posters
        are revoked. Removing the primary makes the most recently added other account primary."""
        m = await self.editable_merchant(by=by, merchant_id=merchant_id)
        account, live = await self._account(m, account_id)
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
        await self._audit(account, "delete", changes, by=by, at=at)
        if promoted is not None:
            await self._audit(promoted, "update", {"is_primary": [False, True]}, by=by, at=at)
        return account

    async def _audit(
        self,
        account: PaymentAccount,
        action: str,
        changes: Mapping[str, list[Any]],
        *,
        by: CurrentUser,
        at: datetime,
    ) -> None:
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

    # --- posters -------------------------------------------------------------------------------

    async def _live_poster(self, account: PaymentAccount) -> Poster | None:
        return await self.session.scalar(
            select(Poster)
            .where(
                Poster.payment_account_id == account.id,
                Poster.payload == _payload(account),
                Poster.revoked_at.is_(None),
            )
            .order_by(Poster.printed_at.desc())
            .limit(1)
        )

    async def _issue(
        self, *, by: CurrentUser, merchant: Merchant, account: PaymentAccount, at: datetime
    ) -> Poster:
        """The account's current poster, or a new code for it. Every print is audited and records
        "qr_issued" (the onboarding service adds nothing while the merchant holds that stage)."""
        poster = await self._live_poster(account)
        if poster is None:
            code = codes.new_code()
            while await self.session.get(Poster, code) is not None:  # 1 in ~10^5 at ten million posters
                code = codes.new_code()
            poster = Poster(
                code=code,
                merchant_id=merchant.id,
                payment_account_id=account.id,
                payload=_payload(account),
                printed_at=at,
                printed_by_id=by.id,
                province_code=merchant.province_code,
            )
            self.session.add(poster)
            await self.session.flush()
        await _stage_reached(self.session, merchant_id=merchant.id, stage="qr_issued", at=at, by=by)
        await self._audit(account, "print_poster", {"poster_code": [None, poster.code]}, by=by, at=at)
        return poster

    async def print_poster(self, *, by: CurrentUser, merchant_id: uuid.UUID, at: datetime) -> Poster:
        """Print the primary account's poster (anyone who may see the merchant: see privacy.py)."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        primary = await self._primary(m.id)
        if primary is None:
            raise NoPaymentAccount()
        return await self._issue(by=by, merchant=m, account=primary, at=at)

    async def poster(self, *, by: CurrentUser, code: str) -> tuple[Poster, Merchant, PaymentAccount]:
        """A printed poster, if the caller may see its merchant (404 otherwise)."""
        canonical = codes.normalize(code)
        poster = await self.session.get(Poster, canonical) if canonical else None
        if poster is None:
            raise NotFound()
        m = await self.merchants.get(by=by, merchant_id=poster.merchant_id)
        account = await self.session.get(PaymentAccount, poster.payment_account_id)
        assert account is not None
        return poster, m, account

    async def poster_view(self, *, by: CurrentUser, code: str, public_url: str) -> PosterView:
        poster, m, account = await self.poster(by=by, code=code)
        printer = await self.session.get(User, poster.printed_by_id)
        bank = banks.by_bin(account.bank_bin)
        return PosterView(
            code=codes.display(poster.code),
            verify_url=verify_url(public_url, poster.code),
            merchant_id=m.id,
            business_name=m.business_name,
            bank_short_name=bank.short_name if bank else account.bank_bin,
            account_masked=mask_account(account.account),
            holder_name=account.holder_name,
            printed_at=poster.printed_at,
            printed_by_name=printer.full_name if printer else None,
            current=_current(poster, m, account),
        )

    @staticmethod
    def poster_data(
        poster: Poster, merchant: Merchant, account: PaymentAccount, *, public_url: str
    ) -> PosterData:
        bank = banks.by_bin(account.bank_bin)
        return PosterData(
            business_name=merchant.business_name,
            bank_short_name=bank.short_name if bank else account.bank_bin,
            account_holder=account.holder_name,
            account=account.account,
            payload=poster.payload,
            verification_code=codes.display(poster.code),
            verify_url=printed_url(verify_url(public_url, poster.code)),
        )

    # --- a whole market ------------------------------------------------------------------------

    async def markets(self, *, by: CurrentUser) -> list[str]:
        """The markets of the merchants the caller may see, in Vietnamese order."""
        rows = await self.session.scalars(
            select(Merchant.market)
            .where(self.merchants._visible(by), Merchant.market.is_not(None))
            .group_by(Merchant.market)
        )
        return sorted((m for m in rows if m), key=fold)

    async def _market(self, *, by: CurrentUser, market: str) -> str:
        """The market's name as stored, typed with or without diacritics; 404 if the caller has none."""
        key = fold(market)
        found = next((m for m in await self.markets(by=by) if fold(m) == key), None) if key else None
        if found is None:
            raise NotFound(N_("Không có tiểu thương nào ở chợ này trong phạm vi của bạn."))
        return found

    async def _market_rows(
        self, *, by: CurrentUser, market: str
    ) -> list[tuple[Merchant, PaymentAccount | None]]:
        rows = await self.session.execute(
            select(Merchant, PaymentAccount)
            .outerjoin(
                PaymentAccount,
                (PaymentAccount.merchant_id == Merchant.id)
                & PaymentAccount.removed_at.is_(None)
                & PaymentAccount.is_primary.is_(True),
            )
            .where(self.merchants._visible(by), Merchant.market == market)
            .order_by(Merchant.stall, Merchant.name_fold, Merchant.id)
        )
        return [(m, a) for m, a in rows]

    async def market_sheet(self, *, by: CurrentUser, market: str) -> MarketSheet:
        """Who in the market gets a poster, and who is skipped for want of a primary account."""
        name = await self._market(by=by, market=market)
        printable, skipped = [], []
        for m, account in await self._market_rows(by=by, market=name):
            bank = banks.by_bin(account.bank_bin) if account else None
            row = SheetRow(
                merchant_id=m.id,
                business_name=m.business_name,
                stall=m.stall,
                bank_short_name=bank.short_name if bank else None,
                account_masked=mask_account(account.account) if account else None,
            )
            (printable if account else skipped).append(row)
        return MarketSheet(market=name, printable=printable, skipped=skipped)

    async def print_market(
        self, *, by: CurrentUser, market: str, at: datetime, part: int = 0
    ) -> list[Poster]:
        """Print the posters of one market (one part of MAX_PER_PDF merchants): a code per merchant
        with a primary account, reusing live ones."""
        name = await self._market(by=by, market=market)
        rows = [(m, a) for m, a in await self._market_rows(by=by, market=name) if a is not None]
        return [
            await self._issue(by=by, merchant=m, account=a, at=at)
            for m, a in rows[part * MAX_PER_PDF : (part + 1) * MAX_PER_PDF]
        ]

    async def market_posters(
        self, *, by: CurrentUser, market: str, public_url: str, part: int = 0
    ) -> list[PosterData]:
        """The printed posters of one market part, in stall order (nothing is issued here)."""
        name = await self._market(by=by, market=market)
        rows = [(m, a) for m, a in await self._market_rows(by=by, market=name) if a is not None]
        pages = []
        for m, account in rows[part * MAX_PER_PDF : (part + 1) * MAX_PER_PDF]:
            poster = await self._live_poster(account)
            if poster is not None:
                pages.append(self.poster_data(poster, m, account, public_url=public_url))
        return pages

    # --- public verification -------------------------------------------------------------------

    async def verify(self, *, code: str) -> VerifyView | None:
        """What `/v/{code}` shows, for anyone: None for a code that was never printed."""
        canonical = codes.normalize(code)
        poster = await self.session.get(Poster, canonical) if canonical else None
        if poster is None:
            return None
        m = await self.session.get(Merchant, poster.merchant_id)
        account = await self.session.get(PaymentAccount, poster.payment_account_id)
        assert m is not None and account is not None
        commune = await self.session.get(Commune, m.commune_code)
        province = await self.session.get(Province, m.province_code)
        bank = banks.by_bin(account.bank_bin)
        return VerifyView(
            code=codes.display(poster.code),
            current=_current(poster, m, account),
            business_name=m.business_name,
            market=m.market,
            stall=m.stall,
            commune_name=commune.full_name if commune else m.commune_code,
            province_name=province.full_name if province else m.province_code,
            bank_short_name=bank.short_name if bank else account.bank_bin,
            bank_name=bank.full_name if bank else "",
            account_masked=mask_account(account.account),
            holder_name=account.holder_name,
            printed_at=poster.printed_at,
        )


def _payload(account: PaymentAccount) -> str:
    return encode(
        VietQR(bank_bin=account.bank_bin, account=account.account, service=account.service)  # type: ignore[arg-type]
    )


def _current(poster: Poster, merchant: Merchant, account: PaymentAccount) -> bool:
    """Whether the printed QR still pays this trader: not revoked, account not removed, merchant
    not deleted or merged, and the account still encodes to the printed payload. A poster of an
    account that is no longer primary stays valid: the money still reaches the trader."""
    return (
        poster.revoked_at is None
        and account.removed_at is None
        and merchant.deleted_at is None
        and merchant.merged_into_id is None
        and _payload(account) == poster.payload
    )
