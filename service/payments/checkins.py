"""The weekly payment check-in: "Tuần này có bao nhiêu khách trả bằng QR?" (DESIGN §5, signals of
real use).

The trader answers on their edit link (storefronts calls `record` with source "trader"); a volunteer
records the same at a visit or over the API (`record_for`, source "volunteer"). One answer is kept
per trader, ISO week of Vietnam's calendar and source: answering again in the same week replaces
the answer, and the same answer again changes nothing (a retry never adds a row). "Paid" means an
answer other than "0".

What the answers are used for, and what not:
- a positive answer is shown to the volunteer as support for a `qr_active` claim; it never reaches
  a stage by itself (only a volunteer's claim does);
- a trader whose two most recent weeks answered are consecutive weeks without a paying answer
  (from either source) is on the team's worklist as "may have stopped using QR" (`stopped_using`,
  and its SQL twin `stopped_using_where` for the worklist query);
- each stored change is announced as "payment_reported" (merchants.events) for the report counters.
"""

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Literal

import msgspec
from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service import idempotency
from service.accounts.schemas import CurrentUser
from service.errors import FieldErrors, Forbidden, NotFound
from service.i18n import N_, gettext
from service.merchants import events
from service.merchants.models import Merchant, live
from service.merchants.privacy import is_erased
from service.merchants.services import Erased, MerchantService
from service.payments.models import PaymentCheckin
from service.payments.privacy import may_change_accounts
from service.payments.schemas import PaymentCheckinIn, PaymentCheckinOut
from service.vietnam import iso_week, local_date, week_number

QUESTION = N_("Tuần này có bao nhiêu khách trả bằng QR?")
# The four buckets, as the buttons say them and as a sentence says them.
BUTTONS: dict[str, str] = {"0": "0", "1-5": "1–5", "6-20": "6–20", "20+": N_("Hơn 20")}
ANSWERS: dict[str, str] = {
    "0": N_("không có khách nào"),
    "1-5": N_("1–5 khách"),
    "6-20": N_("6–20 khách"),
    "20+": N_("hơn 20 khách"),
}
OLDEST = timedelta(days=60)  # as for visits: an answer older than this lands outside every recent trend
Outcome = Literal["created", "replaced", "unchanged"]


def paid(answer: str) -> bool:
    return answer != "0"


def week_label(week: str) -> str:
    """ "2026-W49" as people read it: "49/2026"."""
    year, _, number = week.partition("-W")
    return f"{int(number)}/{year}"


def weeks_of(rows: Iterable[PaymentCheckin]) -> dict[int, bool]:
    """Week number → whether any answer that week (from either source) says customers paid."""
    weeks: dict[int, bool] = {}
    for row in rows:
        weeks[row.week] = weeks.get(row.week, False) or paid(row.answer)
    return weeks


def stopped_using(weeks: Mapping[int, bool]) -> bool:
    """Given the weeks answered (week number → whether any answer that week was paying): the two
    most recent are consecutive weeks and neither was paying."""
    if len(weeks) < 2:
        return False
    latest, before = sorted(weeks, reverse=True)[:2]
    return latest - before == 1 and not weeks[latest] and not weeks[before]


def stopped_using_where(merchant_id: ColumnElement[uuid.UUID]) -> ColumnElement[bool]:
    """`stopped_using` as a condition on a merchant id column (correlated: the worklist query)."""
    c, last = PaymentCheckin, aliased(PaymentCheckin)
    # Correlated to the check-in row of the EXISTS around it (the same trader), not to the merchant.
    latest = select(func.max(last.week)).where(last.merchant_id == c.merchant_id).scalar_subquery()
    return and_(
        exists().where(c.merchant_id == merchant_id, c.week == latest - 1),
        ~exists().where(c.merchant_id == merchant_id, c.week >= latest - 1, c.answer != "0"),
    )


def out(row: PaymentCheckin) -> PaymentCheckinOut:
    return PaymentCheckinOut(
        id=row.id,
        merchant_id=row.merchant_id,
        iso_week=row.iso_week,
        day=row.day,
        answer=row.answer,  # type: ignore[arg-type]
        paid=paid(row.answer),
        source=row.source,  # type: ignore[arg-type]
        recorded_at=row.recorded_at,
        recorded_by_id=row.recorded_by_id,
    )


class CheckinService:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.merchants = MerchantService(session)

    # --- writing -------------------------------------------------------------------------------

    async def record(
        self,
        *,
        merchant_id: uuid.UUID,
        answer: str,
        source: Literal["trader", "volunteer"],
        day: date,
        at: datetime,
        by: uuid.UUID | None,
    ) -> tuple[PaymentCheckin, Outcome]:
        """Store an answer for the week of `day`; the caller has authorized it (an open edit link,
        or `record_for`). Locks the trader first, like every write path; announces the change."""
        if answer not in ANSWERS:
            raise FieldErrors([("answer", gettext("Giá trị không hợp lệ."))])
        await events.lock(self.session, [merchant_id])
        merchant = await self.session.scalar(select(Merchant).where(Merchant.id == merchant_id, live()))
        if merchant is None:
            raise NotFound()
        week = iso_week(day)
        mine = list(
            await self.session.scalars(
                select(PaymentCheckin).where(PaymentCheckin.merchant_id == merchant_id)
            )
        )
        row = next((r for r in mine if r.iso_week == week and r.source == source), None)
        if row is not None and row.answer == answer:
            return row, "unchanged"
        # The trader's latest paying day before and after this answer, for the report counters.
        previous = max((r.day for r in mine if paid(r.answer)), default=None)
        outcome: Outcome = "replaced" if row is not None else "created"
        if row is None:
            row = PaymentCheckin(
                id=uuid.uuid4(),
                merchant_id=merchant_id,
                iso_week=week,
                week=week_number(day),
                day=day,  # kept when the answer is replaced: the week stays in its month's count
                source=source,
                province_code=merchant.province_code,
                commune_code=merchant.commune_code,
            )
            self.session.add(row)
        row.answer, row.recorded_at, row.recorded_by_id = answer, at, by
        await self.session.flush()
        latest = max((r.day for r in [*mine, row] if paid(r.answer)), default=None)
        await events.announce(
            self.session,
            "payment_reported",
            [merchant_id],
            at=at,
            by=by,
            place=events.place_of(merchant),
            day=row.day,
            paid=paid(answer),
            previous=previous,
            latest=latest,
            source=source,
            replaced=outcome == "replaced",
        )
        return row, outcome

    async def editable_merchant(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> Merchant:
        """The merchant, if the caller may record its check-ins: the rule of its payment accounts
        (404 unseen, 403 officers and other teams, 409 once the trader's data was erased)."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        if is_erased(m):
            raise Erased()
        if not may_change_accounts(by, team_id=m.team_id):
            raise Forbidden(N_("Chỉ tổ phụ trách tiểu thương mới ghi được câu trả lời hằng tuần."))
        return m

    async def record_for(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, answer: str, day: date | None, at: datetime
    ) -> tuple[PaymentCheckin, Outcome]:
        """A volunteer's record (at a visit, or over the API) for the week of `day` (default today)."""
        m = await self.editable_merchant(by=by, merchant_id=merchant_id)
        today = local_date(at)
        day = day or today
        if day > today:
            raise FieldErrors([("day", gettext("Ngày này còn ở tương lai."))])
        if day < local_date(m.created_at):
            raise FieldErrors([("day", gettext("Ngày này ở trước ngày đăng ký tiểu thương."))])
        if day < today - OLDEST:
            raise FieldErrors([("day", gettext("Chỉ ghi được câu trả lời trong 60 ngày qua."))])
        return await self.record(
            merchant_id=m.id, answer=answer, source="volunteer", day=day, at=at, by=by.id
        )

    async def record_once(
        self,
        *,
        by: CurrentUser,
        merchant_id: uuid.UUID,
        data: PaymentCheckinIn,
        key: str | None,
        request_hash: str,
        at: datetime,
    ) -> tuple[idempotency.Replay, bool]:
        """`record_for` over the API: (status and body, whether it is a replay). 201 when the week
        had no answer from the team yet, 200 when it replaced one or repeated it. With an
        Idempotency-Key a retry gets the first response again (the rules of idempotency.py);
        without one, a retry of the same answer changes nothing and answers 200."""
        if key is not None and (
            replay := await idempotency.find(self.session, user_id=by.id, key=key, request_hash=request_hash)
        ):
            return replay, True
        try:
            row, outcome = await self.record_for(
                by=by, merchant_id=merchant_id, answer=data.answer, day=data.day, at=at
            )
            status = 201 if outcome == "created" else 200
            body = msgspec.json.encode(out(row))
            if key is not None:
                await idempotency.store(
                    self.session,
                    user_id=by.id,
                    key=key,
                    request_hash=request_hash,
                    status_code=status,
                    body=body,
                    at=at,
                    merchant_id=merchant_id,
                )
        except IntegrityError:
            # A concurrent request with the same key committed first: replay its result.
            await self.session.rollback()
            if key is not None and (
                replay := await idempotency.find(
                    self.session, user_id=by.id, key=key, request_hash=request_hash
                )
            ):
                return replay, True
            raise
        return idempotency.Replay(status_code=status, body=body), False

    # --- reading -------------------------------------------------------------------------------

    async def of_merchant(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, limit: int = 104
    ) -> list[PaymentCheckinOut]:
        """The trader's answers, newest week first (about two years by default)."""
        m = await self.merchants.get(by=by, merchant_id=merchant_id)
        return [out(row) for row in await self.recent(merchant_id=m.id, limit=limit)]

    async def recent(self, *, merchant_id: uuid.UUID, limit: int) -> list[PaymentCheckin]:
        """Unscoped: for callers that already checked the caller may see the merchant."""
        return list(
            await self.session.scalars(
                select(PaymentCheckin)
                .where(PaymentCheckin.merchant_id == merchant_id)
                .order_by(PaymentCheckin.week.desc(), PaymentCheckin.source, PaymentCheckin.id)
                .limit(limit)
            )
        )

    async def answer_of_week(
        self, *, merchant_id: uuid.UUID, day: date, source: Literal["trader", "volunteer"]
    ) -> PaymentCheckin | None:
        return await self.session.scalar(
            select(PaymentCheckin).where(
                PaymentCheckin.merchant_id == merchant_id,
                PaymentCheckin.iso_week == iso_week(day),
                PaymentCheckin.source == source,
            )
        )

    async def latest_paid(self, *, merchant_id: uuid.UUID) -> PaymentCheckin | None:
        """The latest answer saying customers paid by QR: support for a `qr_active` claim."""
        return await self.session.scalar(
            select(PaymentCheckin)
            .where(PaymentCheckin.merchant_id == merchant_id, PaymentCheckin.answer != "0")
            .order_by(PaymentCheckin.week.desc(), PaymentCheckin.day.desc(), PaymentCheckin.source)
            .limit(1)
        )
