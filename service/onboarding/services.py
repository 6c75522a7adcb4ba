"""Onboarding records, the writing side: stage events and support visits (reading: overview.py).

Every change of a merchant's stage ends in `OnboardingService._apply`: it replays the merchant's
log with `stages.progress` (events per merchant are few) and writes the result —
`merchants.current_stage`, `stage_reached_at` and the `merchant_stages` rows — in the same
transaction as the event, while the merchant row is locked, and announces the standing before and
after (`stage_changed`, see `merchants.events`) so that the report counters follow.

Concurrency: `_lock` takes the merchant row (`events.lock`) before anything is read, so two
volunteers recording at once are serialized: the second sees the first's event and adds nothing.
The stage columns are written by one UPDATE under that lock. They are derived from the log, so the
update leaves `version` alone: `version` guards the profile fields people edit, and a stage recorded
during an edit must not turn the edit into a conflict.

Offline tablets: each event and visit carries the tablet's `client_event_id` (unique per merchant)
and the time it happened. A retry gets the first response again; a late event is placed by
`occurred_at` when the log is replayed.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service import idempotency
from service.accounts.models import User
from service.accounts.schemas import CurrentUser
from service.errors import FieldErrors, Forbidden, NotFound
from service.i18n import gettext
from service.merchants import events
from service.merchants.bulk import insert_dicts
from service.merchants.models import Merchant, live
from service.merchants.services import MerchantService
from service.onboarding import stages
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.onboarding.schemas import (
    StageEventIn,
    StageEventOut,
    StageResult,
    VisitIn,
    VisitOut,
    to_json,
)
from service.onboarding.stages import VIETNAM, local_date
from service.text import nfc_or_none

RECORDERS = ("volunteer", "team_leader", "admin")  # officers read; the team does the field work
REVIEWERS = ("team_leader", "admin")
CLOCK_SKEW = timedelta(minutes=10)  # a tablet's clock may run a little ahead
OLDEST = timedelta(days=366)  # an offline tablet may sync late, not years late
VISIT_OLDEST = timedelta(days=60)  # a visit older than this would land outside every recent trend
AUTOMATIC_PREFIX = "auto"
BULK_SLICE = 10_000  # merchants per query and insert when stage 1 is recorded for an import


def as_rule(row: StageEvent) -> stages.Event:
    """A stored event as the pure rules see it."""
    return stages.Event(
        stage=row.stage,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        source=row.source,  # type: ignore[arg-type]
        ref=row.id,
    )


def _event_out(row: StageEvent) -> StageEventOut:
    return StageEventOut(
        id=row.id,
        merchant_id=row.merchant_id,
        client_event_id=row.client_event_id,
        stage=row.stage,
        kind="rejected" if row.kind == "regressed" and row.source == "review" else row.kind,
        source=row.source,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        recorded_by_id=row.recorded_by_id,
        note=row.note,
        evidence=row.evidence,
    )


def _visit_out(row: Visit) -> VisitOut:
    return VisitOut(
        id=row.id,
        merchant_id=row.merchant_id,
        client_event_id=row.client_event_id,
        volunteer_id=row.volunteer_id,
        visited_on=row.visited_on,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        minutes=row.minutes,
        topics=list(row.topics),
        outcome=row.outcome,
        note=row.note,
        next_follow_up=row.next_follow_up,
    )


def _when_errors(occurred_at: datetime, at: datetime) -> list[tuple[str, str]]:
    if occurred_at > at + CLOCK_SKEW:
        return [("occurred_at", gettext("Thời điểm này còn ở tương lai."))]
    if occurred_at < at - OLDEST:
        return [("occurred_at", gettext("Thời điểm này đã quá một năm."))]
    return []


def _translated(errors: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(field, gettext(message)) for field, message in errors]


def form_moment(day: date | None, *, now: datetime) -> datetime:
    """When something entered on a page as a date happened: now for today, noon of that day else."""
    if day is None or day == local_date(now):
        return now
    return datetime.combine(day, time(12), VIETNAM).astimezone(UTC)


async def events_of(session: AsyncSession, merchant_id: uuid.UUID) -> list[StageEvent]:
    """A merchant's stage log, in the order things happened."""
    return list(
        await session.scalars(
            select(StageEvent)
            .where(StageEvent.merchant_id == merchant_id)
            .order_by(StageEvent.occurred_at, StageEvent.recorded_at)
        )
    )


class _Locked(msgspec.Struct, frozen=True):
    id: uuid.UUID
    province_code: str
    commune_code: str
    village_id: uuid.UUID | None
    team_id: uuid.UUID
    current_stage: str
    stage_reached_at: datetime
    last_visit_at: datetime | None
    next_follow_up: date | None
    created_at: datetime


class OnboardingService:
    def __init__(self, session: AsyncSession):
        self.session = session

    # --- the write path ----------------------------------------------------------------------

    async def _lock(self, merchant_id: uuid.UUID, *, visible: ColumnElement[bool] | None = None) -> _Locked:
        """The merchant, locked until the transaction ends; NotFound if it is not there (or, with
        `visible`, not visible to the caller)."""
        where = [Merchant.id == merchant_id, live()]
        if visible is not None:
            where.append(visible)
        await events.lock(self.session, [merchant_id])
        row = (
            await self.session.execute(
                select(
                    Merchant.id,
                    Merchant.province_code,
                    Merchant.commune_code,
                    Merchant.village_id,
                    Merchant.team_id,
                    Merchant.current_stage,
                    Merchant.stage_reached_at,
                    Merchant.last_visit_at,
                    Merchant.next_follow_up,
                    Merchant.created_at,
                ).where(*where)
            )
        ).one_or_none()
        if row is None:
            raise NotFound()
        return _Locked(*row)

    async def _append(
        self, merchant: _Locked, history: list[StageEvent], *rows: StageEvent
    ) -> stages.Progress:
        """Add the events and bring the merchant's stage up to date from its whole log."""
        self.session.add_all(rows)
        await self.session.flush()
        return await self._apply(merchant, [*history, *rows], before=history)

    async def _apply(
        self, merchant: _Locked, log: list[StageEvent], *, before: list[StageEvent] | None = None
    ) -> stages.Progress:
        """Write what the log says: the merchant's stage columns and its `merchant_stages` rows, and,
        given the log `before` the change, announce the standing before and after it."""
        now = stages.progress(map(as_rule, log))
        reached_at = now.reached_at or merchant.created_at
        if before is not None:
            then = stages.progress(map(as_rule, before))
            await events.announce(
                self.session,
                "stage_changed",
                [merchant.id],
                at=max((e.recorded_at for e in log), default=merchant.created_at),
                place=events.place_of(merchant),
                before=events.Standing(
                    stage=merchant.current_stage,
                    reached_at=merchant.stage_reached_at,
                    holds=then.reached,
                    stood=then.stood,
                ),
                after=events.Standing(
                    stage=now.stage, reached_at=reached_at, holds=now.reached, stood=now.stood
                ),
            )
        if (now.stage, reached_at) != (merchant.current_stage, merchant.stage_reached_at):
            await self.session.execute(
                update(Merchant)
                .where(Merchant.id == merchant.id)
                .values(current_stage=now.stage, stage_reached_at=reached_at)
            )
        await self.session.execute(delete(MerchantStage).where(MerchantStage.merchant_id == merchant.id))
        if now.holds:
            await self.session.execute(
                insert(MerchantStage),
                [
                    {
                        "merchant_id": merchant.id,
                        "stage": code,
                        "reached_at": event.occurred_at,
                        "verified": code in now.verified,
                        "event_id": event.ref,
                        "province_code": merchant.province_code,
                        "commune_code": merchant.commune_code,
                    }
                    for code, event in now.holds.items()
                ],
            )
        return now

    async def record_automatic(
        self,
        *,
        merchant_id: uuid.UUID,
        stage: stages.StageCode,
        at: datetime,
        by: CurrentUser | uuid.UUID | None,
        source_id: str | uuid.UUID | None = None,
    ) -> StageEvent | None:
        """Record a stage the system saw happen, when another area announces the fact
        (`onboarding/reactions.py`):

        - "registered": merchant registration;
        - "bank_account": a payment account saved (payments);
        - "qr_issued": a VietQR poster printed (payments);
        - "listed": the storefront published with at least one product (storefronts).

        Call it inside the transaction of the action that caused it, after authorizing that action
        (no scope check here: `by` may be a user, a user id, or None for a trader's edit link).
        Idempotent: a stage the merchant already holds is not recorded again, and with `source_id`
        (e.g. the payment account's id) a retry of the same action is recognized. Returns the new
        event, or None when nothing was recorded. NotFound if the merchant does not exist."""
        if not stages.BY_CODE[stage].automatic:
            raise ValueError(f"stage {stage!r} is not recorded automatically")
        merchant = await self._lock(merchant_id)
        if source_id is None:  # a merchant registers once; other stages may come and go
            source_id = merchant_id.hex if stage == "registered" else uuid.uuid4().hex
        client_event_id = f"{AUTOMATIC_PREFIX}:{stage}:{source_id}"[:64]
        if await self._stored_event(merchant_id, client_event_id):
            return None
        history = await events_of(self.session, merchant_id)
        if stages.redundant([as_rule(e) for e in history], stage=stage, at=at):
            return None
        row = StageEvent(
            id=uuid.uuid4(),
            merchant_id=merchant_id,
            stage=stage,
            kind="reached",
            source="automatic",
            occurred_at=at,
            recorded_at=at,
            recorded_by_id=by.id if isinstance(by, CurrentUser) else by,
            client_event_id=client_event_id,
            province_code=merchant.province_code,
            commune_code=merchant.commune_code,
        )
        await self._append(merchant, history, row)
        return row

    async def regress_automatic(
        self,
        *,
        merchant_id: uuid.UUID,
        codes: Sequence[stages.StageCode],
        at: datetime,
        by: CurrentUser | uuid.UUID | None,
    ) -> list[StageEvent]:
        """The fact behind these stages went away (the last payment account removed: bank_account,
        qr_issued and qr_active; the storefront unpublished: listed): each one the merchant holds
        now is regressed by the system. They still count as reached once (the trader did have
        them), and a later action reaches them again. Returns the new events."""
        merchant = await self._lock(merchant_id)
        history = await events_of(self.session, merchant_id)
        held = stages.progress_at(map(as_rule, history), at).reached
        rows = [
            StageEvent(
                id=uuid.uuid4(),
                merchant_id=merchant_id,
                stage=code,
                kind="regressed",
                source="automatic",
                occurred_at=at,
                recorded_at=at,
                recorded_by_id=by.id if isinstance(by, CurrentUser) else by,
                client_event_id=f"{AUTOMATIC_PREFIX}:{code}:regressed:{uuid.uuid4().hex}"[:64],
                province_code=merchant.province_code,
                commune_code=merchant.commune_code,
            )
            for code in codes
            if code in held
        ]
        if rows:
            await self._append(merchant, history, *rows)
        return rows

    async def record_registered(
        self, *, merchant_ids: Sequence[uuid.UUID], by: CurrentUser | uuid.UUID | None
    ) -> int:
        """Stage 1 for many new merchants at once (a spreadsheet import, announced as `imported`),
        in multi-row INSERTs of `BULK_SLICE` rows per table. Each event is dated at the merchant's
        `created_at`; their stage columns already say "registered", so nothing else changes. Returns
        how many."""
        actor = by.id if isinstance(by, CurrentUser) else by
        merchant_ids = list(merchant_ids)
        total = 0
        # In slices: reading and building 200,000 rows at once would hold the event loop for seconds.
        for start in range(0, len(merchant_ids), BULK_SLICE):
            columns = (Merchant.id, Merchant.province_code, Merchant.commune_code, Merchant.created_at)
            wanted = Merchant.id.in_(merchant_ids[start : start + BULK_SLICE])
            rows = (await self.session.execute(select(*columns).where(wanted))).all()
            if not rows:
                continue
            events = [
                {
                    "id": uuid.uuid4(),
                    "merchant_id": row.id,
                    "stage": "registered",
                    "kind": "reached",
                    "source": "automatic",
                    "occurred_at": row.created_at,
                    "recorded_at": row.created_at,
                    "recorded_by_id": actor,
                    "client_event_id": f"{AUTOMATIC_PREFIX}:registered:{row.id.hex}",
                    "province_code": row.province_code,
                    "commune_code": row.commune_code,
                }
                for row in rows
            ]
            await insert_dicts(self.session, StageEvent.__table__, events)
            await insert_dicts(
                self.session,
                MerchantStage.__table__,
                [
                    {
                        "merchant_id": e["merchant_id"],
                        "stage": "registered",
                        "reached_at": e["occurred_at"],
                        "verified": False,
                        "event_id": e["id"],
                        "province_code": e["province_code"],
                        "commune_code": e["commune_code"],
                    }
                    for e in events
                ],
            )
            total += len(events)
        return total

    async def recompute(self, *, merchant_id: uuid.UUID) -> stages.Progress:
        """Rebuild a merchant's stage, held stages, last visit and next follow-up from its log and
        visits: after a merge moved another record's events and visits to it (`merged`; the merge
        counts its difference to the report counters itself)."""
        merchant = await self._lock(merchant_id)
        now = await self._apply(merchant, await events_of(self.session, merchant_id))
        await self._apply_visits(merchant)
        return now

    async def _stored_event(self, merchant_id: uuid.UUID, client_event_id: str) -> StageEvent | None:
        return await self.session.scalar(
            select(StageEvent).where(
                StageEvent.merchant_id == merchant_id, StageEvent.client_event_id == client_event_id
            )
        )

    def _visible(self, by: CurrentUser) -> ColumnElement[bool]:
        return MerchantService(self.session)._visible(by)

    async def record_stage(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, data: StageEventIn, at: datetime
    ) -> tuple[idempotency.Replay, bool]:
        """A volunteer's claim or report, or a leader's review, safe to send again: (status and
        body, whether it is a replay). 201 when an event was added; 200 when it changed nothing
        (the stage was already held, or already verified). The same `client_event_id` again gets
        the first answer, whatever else the retry carries."""
        merchant = await self._lock(merchant_id, visible=self._visible(by))
        reviewing = data.kind in ("verified", "rejected")
        if by.role not in (REVIEWERS if reviewing else RECORDERS):
            raise Forbidden()
        key = f"stage-event:{merchant_id}:{data.client_event_id}"
        digest = idempotency.request_hash("POST", key, None)
        if replay := await self._replay(by=by, merchant_id=merchant_id, key=key, digest=digest, data=data):
            return replay, True
        try:
            status, result = await self._record_stage(by=by, merchant=merchant, data=data, at=at)
            body = to_json(result)
            await idempotency.store(
                self.session,
                user_id=by.id,
                key=key,
                request_hash=digest,
                status_code=status,
                body=body,
                at=at,
                merchant_id=merchant_id,
            )
        except IntegrityError:
            await self.session.rollback()
            if replay := await self._replay(
                by=by, merchant_id=merchant_id, key=key, digest=digest, data=data
            ):
                return replay, True
            raise
        return idempotency.Replay(status_code=status, body=body), False

    async def _replay(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, key: str, digest: str, data: StageEventIn
    ) -> idempotency.Replay | None:
        if replay := await idempotency.find(self.session, user_id=by.id, key=key, request_hash=digest):
            return replay
        # Sent by another account, or after the stored answer was purged: answer from the row.
        row = await self._stored_event(merchant_id, data.client_event_id)
        if row is None:
            return None
        return idempotency.Replay(
            status_code=201, body=to_json(await self._result(merchant_id, recorded=True, event=row))
        )

    async def _result(
        self, merchant_id: uuid.UUID, *, recorded: bool, event: StageEvent | None
    ) -> StageResult:
        now = stages.progress(map(as_rule, await events_of(self.session, merchant_id)))
        stage_row = (
            await self.session.execute(
                select(Merchant.current_stage, Merchant.stage_reached_at).where(Merchant.id == merchant_id)
            )
        ).one()
        return StageResult(
            recorded=recorded,
            event=_event_out(event) if event is not None else None,
            current_stage=stage_row.current_stage,
            stage_reached_at=stage_row.stage_reached_at,
            verified=sorted(now.verified, key=lambda code: stages.BY_CODE[code].order),
        )

    async def _record_stage(
        self, *, by: CurrentUser, merchant: _Locked, data: StageEventIn, at: datetime
    ) -> tuple[int, StageResult]:
        history = await events_of(self.session, merchant.id)
        events = [as_rule(e) for e in history]
        note = nfc_or_none(data.note)
        errors = _when_errors(data.occurred_at, at)
        evidence: dict[str, Any] | None = None
        if data.kind == "reached":
            link = nfc_or_none(data.link)
            claim = stages.Claim(
                stage=data.stage,
                occurred_at=data.occurred_at,
                note=note,
                link=link,
                visit_on=data.visit_on,
                customer_payments_7d=data.customer_payments_7d,
            )
            then = stages.progress_at(events, data.occurred_at)
            errors += _translated(stages.check_claim(claim, qr_issued_at=then.reached.get("qr_issued")))
            if data.stage == "ecommerce":
                evidence = {"link": link}
            elif data.stage == "qr_active":
                evidence = {
                    "visit_on": data.visit_on.isoformat() if data.visit_on else None,
                    "customer_payments_7d": data.customer_payments_7d,
                }
            if errors:
                raise FieldErrors(errors)
            if stages.redundant(events, stage=data.stage, at=data.occurred_at):
                return 200, await self._result(merchant.id, recorded=False, event=None)
        else:
            errors += _translated(
                stages.check_change(
                    kind=data.kind, stage=data.stage, occurred_at=data.occurred_at, events=events, note=note
                )
            )
            if errors:
                raise FieldErrors(errors)
            if data.kind == "verified":
                repeated = data.stage in stages.progress_at(events, data.occurred_at).verified
            else:
                repeated = data.kind == "regressed" and stages.redundant(
                    events, stage=data.stage, at=data.occurred_at, kind="regressed"
                )
            if repeated:
                return 200, await self._result(merchant.id, recorded=False, event=None)
        row = StageEvent(
            id=uuid.uuid4(),
            merchant_id=merchant.id,
            stage=data.stage,
            kind="regressed" if data.kind == "rejected" else data.kind,
            source="review" if data.kind in ("verified", "rejected") else "manual",
            occurred_at=data.occurred_at,
            recorded_at=at,
            recorded_by_id=by.id,
            note=note,
            evidence=evidence,
            client_event_id=data.client_event_id,
            province_code=merchant.province_code,
            commune_code=merchant.commune_code,
        )
        await self._append(merchant, history, row)
        return 201, await self._result(merchant.id, recorded=True, event=row)

    async def record_visit(
        self, *, by: CurrentUser, merchant_id: uuid.UUID, data: VisitIn, at: datetime
    ) -> tuple[VisitOut, bool]:
        """A support visit, safe to send again: (the visit, whether it was already stored). The
        merchant's last visit and next follow-up come from its latest visit by `occurred_at`, so a
        visit synced late does not overwrite a newer plan."""
        merchant = await self._lock(merchant_id, visible=self._visible(by))
        if by.role not in RECORDERS:
            raise Forbidden()
        if existing := await self._stored_visit(merchant_id, data.client_event_id):
            return _visit_out(existing), True
        visited_on = data.visited_on or local_date(data.occurred_at)
        errors = _when_errors(data.occurred_at, at)
        if visited_on > local_date(at):
            errors.append(("visited_on", gettext("Ngày thăm chưa tới.")))
        elif visited_on < local_date(merchant.created_at):
            errors.append(("visited_on", gettext("Ngày thăm không thể trước ngày đăng ký tiểu thương.")))
        elif visited_on < local_date(at) - VISIT_OLDEST:
            errors.append(("visited_on", gettext("Chỉ ghi được lần thăm trong 60 ngày qua.")))
        if data.next_follow_up is not None and not (visited_on < data.next_follow_up <= visited_on + OLDEST):
            errors.append(
                ("next_follow_up", gettext("Ngày hẹn thăm lại phải sau ngày thăm, trong vòng một năm."))
            )
        if errors:
            raise FieldErrors(errors)
        row = Visit(
            id=uuid.uuid4(),
            merchant_id=merchant_id,
            volunteer_id=by.id,
            visited_on=visited_on,
            occurred_at=data.occurred_at,
            recorded_at=at,
            minutes=data.minutes,
            topics=list(dict.fromkeys(data.topics)),
            outcome=data.outcome,
            note=nfc_or_none(data.note),
            next_follow_up=data.next_follow_up,
            client_event_id=data.client_event_id,
            province_code=merchant.province_code,
            commune_code=merchant.commune_code,
        )
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError:
            await self.session.rollback()
            if existing := await self._stored_visit(merchant_id, data.client_event_id):
                return _visit_out(existing), True
            raise
        await self._apply_visits(merchant)
        await self._count_visit(merchant, row)
        return _visit_out(row), False

    async def _count_visit(self, merchant: _Locked, row: Visit) -> None:
        """Announce the visit (the report counters count it), and keep the volunteer's latest visit
        (active volunteers)."""
        await events.announce(
            self.session,
            "visit_recorded",
            [merchant.id],
            at=row.recorded_at,
            by=row.volunteer_id,
            place=events.place_of(merchant),
            visited_on=row.visited_on,
            volunteer_id=row.volunteer_id,
            occurred_at=row.occurred_at,
        )
        await self.session.execute(
            update(User)
            .where(User.id == row.volunteer_id)
            .where(or_(User.last_visit_at.is_(None), User.last_visit_at < row.occurred_at))
            .values(last_visit_at=row.occurred_at)
        )

    async def _apply_visits(self, merchant: _Locked) -> None:
        """The merchant's last visit and next follow-up: those of its latest visit."""
        latest = (
            await self.session.execute(
                select(Visit.occurred_at, Visit.next_follow_up)
                .where(Visit.merchant_id == merchant.id)
                .order_by(Visit.occurred_at.desc(), Visit.recorded_at.desc())
                .limit(1)
            )
        ).one_or_none()
        values = (latest.occurred_at, latest.next_follow_up) if latest else (None, None)
        if values != (merchant.last_visit_at, merchant.next_follow_up):
            await self.session.execute(
                update(Merchant)
                .where(Merchant.id == merchant.id)
                .values(last_visit_at=values[0], next_follow_up=values[1])
            )

    async def _stored_visit(self, merchant_id: uuid.UUID, client_event_id: str) -> Visit | None:
        return await self.session.scalar(
            select(Visit).where(Visit.merchant_id == merchant_id, Visit.client_event_id == client_event_id)
        )
