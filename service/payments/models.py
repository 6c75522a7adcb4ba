import uuid
from datetime import date, datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service import audit
from service.db import Base
from service.merchants.models import Merchant
from service.merchants.privacy import ERASED_NAME
from service.merchants.relations import Reference, erase_hook, merge_hook

ENTITY = "payment_account"  # audit entries, filed under the merchant's id (see services.py)
# What an erased account holds instead of its number: unique per row (the database keeps a
# merchant's live numbers unique, and one trader may hold two accounts at one bank) and never a
# valid number (those are upper-case letters and digits), so no QR can be made from it.
ERASED_PREFIX = "da-xoa-"
_LIVE = text("removed_at IS NULL")
_LIVE_PRIMARY = text("is_primary AND removed_at IS NULL")


class PaymentAccount(Base):
    """Where a trader receives VietQR transfers. Bank, number and holder never change after saving:
    a correction is a new account and the removal of the old one, so a printed poster always
    points at exactly what it was printed from. Only the primary flag moves."""

    __tablename__ = "payment_accounts"
    __table_args__ = (
        Index("ix_payment_accounts_merchant_id", "merchant_id"),
        Index("ix_payment_accounts_province_code", "province_code"),
        # Exactly one primary among a merchant's live accounts, kept by the database: two tablets
        # saving a first account at once cannot both make theirs primary.
        Index(
            "uq_payment_accounts_primary",
            "merchant_id",
            unique=True,
            sqlite_where=_LIVE_PRIMARY,
            postgresql_where=_LIVE_PRIMARY,
        ),
        Index(
            "uq_payment_accounts_number",
            "merchant_id",
            "bank_bin",
            "account",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("merchants.id"))
    # Grows with merchants: carries the province for partitioning (DESIGN §8).
    province_code: Mapped[str] = mapped_column(String(2))
    bank_bin: Mapped[str] = mapped_column(String(6))
    service: Mapped[str] = mapped_column(String(10))  # account | card
    account: Mapped[str] = mapped_column(String(19))
    holder_name: Mapped[str] = mapped_column(String(70))
    is_primary: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    created_by_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    removed_by_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("users.id"), nullable=True)


class Poster(Base):
    """A printed stall poster, found by the verification code printed on it (`/v/{code}`).

    One code per account and payload: printing the same QR again reprints the same code, so every
    copy at the stall verifies. Removing the account revokes it."""

    __tablename__ = "posters"
    __table_args__ = (
        Index("ix_posters_merchant_id", "merchant_id"),
        Index("ix_posters_payment_account_id", "payment_account_id"),
        Index("ix_posters_province_code", "province_code"),
    )

    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # Crockford base32, see codes.py
    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("merchants.id"))
    payment_account_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("payment_accounts.id"))
    payload: Mapped[str] = mapped_column(String(512))
    printed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    printed_by_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id"))
    province_code: Mapped[str] = mapped_column(String(2))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class PaymentCheckin(Base):
    """How many customers paid a trader by QR in one ISO week, as the trader answered on their edit
    link or a volunteer recorded at a visit (DESIGN §5, signals of real use): one row per trader,
    week and source. Answering again in the same week replaces the answer. A positive answer
    supports a `qr_active` claim; it never records a stage by itself (see checkins.py)."""

    __tablename__ = "payment_checkins"
    __table_args__ = (
        UniqueConstraint("merchant_id", "iso_week", "source", name="uq_payment_checkins_week_source"),
        Index("ix_payment_checkins_merchant_week", "merchant_id", "week"),
        Index("ix_payment_checkins_province_code", "province_code"),
        Index("ix_payment_checkins_commune_day", "commune_code", "day"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("merchants.id"))
    iso_week: Mapped[str] = mapped_column(String(8))  # "2026-W49", of `day`
    # The same week as a number (vietnam.week_number): the week before is `week - 1`.
    week: Mapped[int] = mapped_column(Integer)
    # The day the week was first answered, in Vietnam (today, or the visit's day); a replaced answer
    # keeps it, so the week stays in the month it was counted in.
    day: Mapped[date] = mapped_column(Date)
    answer: Mapped[str] = mapped_column(String(4))  # 0 | 1-5 | 6-20 | 20+
    source: Mapped[str] = mapped_column(String(10))  # trader | volunteer
    recorded_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(GUID, ForeignKey("users.id"), nullable=True)
    # Grows with merchants: carries the place for partitioning and area counts (DESIGN §8).
    province_code: Mapped[str] = mapped_column(String(2))
    commune_code: Mapped[str] = mapped_column(String(5))


def erased_number(account_id: uuid.UUID) -> str:
    return f"{ERASED_PREFIX}{account_id.hex[:12]}"


@erase_hook("payment_accounts")
async def erase_payment_accounts(
    session: AsyncSession, reference: Reference, merchant_ids: list[uuid.UUID], at: datetime
) -> None:
    """A trader's data erased: the number and holder's name go, from the rows and from their audit
    entries; bank, service, primary flag and dates stay, so counts by bank and stage history hold."""
    accounts = await session.scalars(
        select(PaymentAccount).where(PaymentAccount.merchant_id.in_(merchant_ids))
    )
    for account in accounts:
        account.account = erased_number(account.id)
        account.holder_name = ERASED_NAME
        account.updated_at = at
    await session.flush()
    await audit.scrub(session, entity_type=ENTITY, entity_ids=merchant_ids, fields=("account", "holder_name"))


@erase_hook("posters")
async def erase_posters(
    session: AsyncSession, reference: Reference, merchant_ids: list[uuid.UUID], at: datetime
) -> None:
    """The printed QR text holds the account number: it goes, and the posters stop verifying."""
    await session.execute(
        update(Poster)
        .where(Poster.merchant_id.in_(merchant_ids), Poster.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    await session.execute(update(Poster).where(Poster.merchant_id.in_(merchant_ids)).values(payload=""))


@merge_hook("payment_accounts")
async def merge_payment_accounts(
    session: AsyncSession, reference: Reference, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> tuple[int, int]:
    """Every account of the duplicate moves to the survivor. When the survivor already has a
    primary, the duplicate's primary moves as a secondary account. An account recorded on both
    (same bank and number) stays live once: the duplicate's copy moves as removed, and its posters
    now verify against the survivor's copy, so the QR codes at the stall stay valid."""
    theirs = list(
        await session.scalars(select(PaymentAccount).where(PaymentAccount.merchant_id == duplicate_id))
    )
    if not theirs:
        return 0, 0
    survivor = await session.get(Merchant, survivor_id)
    assert survivor is not None
    at = survivor.updated_at  # the merge's time: the merge sets it before calling the hooks
    ours = {
        (a.bank_bin, a.account): a
        for a in await session.scalars(
            select(PaymentAccount).where(
                PaymentAccount.merchant_id == survivor_id, PaymentAccount.removed_at.is_(None)
            )
        )
    }
    has_primary = any(a.is_primary for a in ours.values())
    for account in theirs:
        if account.removed_at is not None:
            continue
        same = ours.get((account.bank_bin, account.account))
        if same is not None:
            account.is_primary = False
            account.removed_at = at
            account.updated_at = at
            await session.execute(
                update(Poster)
                .where(Poster.payment_account_id == account.id)
                .values(payment_account_id=same.id)
            )
        elif account.is_primary and has_primary:
            account.is_primary = False
            account.updated_at = at
    await session.flush()  # demoted first: the database allows one live primary per merchant
    for account in theirs:
        account.merchant_id = survivor_id
    await session.flush()
    return len(theirs), 0
