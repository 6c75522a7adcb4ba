"""Printed stall posters: a verification code per account and payload, a market's posters in one
PDF, and the public check behind `/v/{code}`.

Printing is scoped like everything else (`MerchantService.get`); `verify` is the one deliberate
exception and returns only what the poster itself prints, plus where the stall is.
"""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import User
from service.accounts.schemas import CurrentUser
from service.errors import DomainError, NotFound
from service.i18n import N_
from service.merchants import events
from service.merchants.models import Merchant
from service.merchants.privacy import is_erased
from service.merchants.services import MerchantService
from service.payments import banks, codes
from service.payments.models import ERASED_PREFIX, PaymentAccount, Poster
from service.payments.poster import PosterData, mask_account
from service.payments.privacy import is_erased_account
from service.payments.schemas import MarketSheet, PosterView, SheetRow, VerifyView
from service.payments.services import (
    AccountErased,
    NoPaymentAccount,
    PaymentService,
    live_poster,
    payload_of,
)
from service.places.models import Commune, Province
from service.text import fold

MAX_PER_PDF = 200  # posters in one market PDF (~50 kB and ~25 ms each); bigger markets print in parts


class PosterWithdrawn(DomainError):
    """`/v/{code}` of a poster whose trader had their data erased: nothing of it is shown."""

    status_code = 410

    def __init__(self) -> None:
        super().__init__(
            N_("Mã này không còn hiệu lực: người bán đã yêu cầu xóa dữ liệu. Đừng chuyển tiền theo biển này.")
        )


def verify_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/v/{codes.display(code)}"


def printed_url(url: str) -> str:
    # Browsers add https:// to what is typed; a plain-http server (a commune's laptop) needs it said.
    return url.removeprefix("https://")


class PosterService:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.merchants = MerchantService(session)
        self.payments = PaymentService(session)

    async def _issue(
        self, *, by: CurrentUser, merchant: Merchant, account: PaymentAccount, at: datetime
    ) -> Poster:
        """The account's current poster, or a new code for it. Every print is audited and announced
        (`poster_printed`: onboarding records "qr_issued" unless the merchant holds it)."""
        async with events.changing(self.session, "poster_printed", [merchant.id], at=at, by=by.id):
            poster = await live_poster(self.session, account)
            if poster is None:
                code = codes.new_code()
                while await self.session.get(Poster, code) is not None:  # 1 in ~10^5 at ten million posters
                    code = codes.new_code()
                poster = Poster(
                    code=code,
                    merchant_id=merchant.id,
                    payment_account_id=account.id,
                    payload=payload_of(account),
                    printed_at=at,
                    printed_by_id=by.id,
                    province_code=merchant.province_code,
                )
                self.session.add(poster)
                await self.session.flush()
            await self.payments.audit(
                account, "print_poster", {"poster_code": [None, poster.code]}, by=by, at=at
            )
            return poster

    async def print_poster(self, *, by: CurrentUser, merchant_id: uuid.UUID, at: datetime) -> Poster:
        """Print the primary account's poster (anyone who may see the merchant: see privacy.py)."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        if is_erased(m):
            raise AccountErased()
        primary = await self.payments.primary(m.id)
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
        if is_erased_account(account):
            raise AccountErased()
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
                & PaymentAccount.is_primary.is_(True)
                & ~PaymentAccount.account.startswith(ERASED_PREFIX),  # an erased trader: no QR
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
            poster = await live_poster(self.session, account)
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
        if is_erased_account(account):
            raise PosterWithdrawn()
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


def _current(poster: Poster, merchant: Merchant, account: PaymentAccount) -> bool:
    """Whether the printed QR still pays this trader: not revoked, account not removed, merchant
    not deleted or merged, and the account still encodes to the printed payload. A poster of an
    account that is no longer primary stays valid: the money still reaches the trader."""
    return (
        poster.revoked_at is None
        and account.removed_at is None
        and merchant.deleted_at is None
        and merchant.merged_into_id is None
        and payload_of(account) == poster.payload
    )
