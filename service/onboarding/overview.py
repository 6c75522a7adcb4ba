"""The reading side of onboarding: a merchant's timeline, the volunteer's worklist, the team
leader's page.

Both are SQL over the caller's jurisdiction: the worklist query returns only the merchants that
need something (never every merchant of a team), with the reasons computed in the query; the rules
in `worklist.py` then order them and share them out among the volunteers.
"""

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import User
from service.accounts.schemas import CurrentUser
from service.accounts.services import AccountService
from service.audit import AuditEntry
from service.errors import NotFound
from service.i18n import N_, gettext
from service.merchants.models import Merchant
from service.merchants.schemas import FIELD_LABELS, MerchantOut
from service.merchants.services import MerchantService
from service.onboarding import sentences, stages, worklist
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.onboarding.schemas import (
    KIND_NAMES,
    Claim,
    LeaderHome,
    MemberActivity,
    MerchantRef,
    Signals,
    StageCount,
    StageStatus,
    TeamProgress,
    Timeline,
    TimelineItem,
    TraderSignals,
    WorkAction,
    WorkItem,
    Worklist,
)
from service.onboarding.services import RECORDERS, as_rule, events_of
from service.onboarding.stages import INSTALLED_NOT_USING_AFTER, STAGES, STALLED_AFTER
from service.payments import banks, checkins
from service.payments.checkins import CheckinService
from service.payments.models import PaymentCheckin
from service.storefronts import reach
from service.vietnam import week_number

WORKLIST_LIMIT = 2000  # merchants needing something, per query: a team's worth, many times over
ACTIVITY_WINDOW = timedelta(days=30)
SIGNAL_ROWS = 8  # weekly answers on the timeline: a month or two
TEAM_SIGNAL_WEEKS = 8  # a trader's latest answer on the team's page, if it is this recent


def action_url(merchant_id: uuid.UUID, action: worklist.Action) -> str:
    if action.kind == "visit":
        return f"/merchants/{merchant_id}/visits/new"
    return f"/merchants/{merchant_id}/stages/new?stage={action.stage}"


def reason_conditions(now: datetime) -> dict[str, ColumnElement[bool]]:
    """Each worklist reason as a condition on a merchant row (the SQL twin of the stages rules)."""
    m = Merchant
    qr_issued_long_ago = exists().where(
        MerchantStage.merchant_id == m.id,
        MerchantStage.stage == "qr_issued",
        MerchantStage.reached_at < stages.days_ago(now, INSTALLED_NOT_USING_AFTER),
    )
    qr_active = exists().where(MerchantStage.merchant_id == m.id, MerchantStage.stage == "qr_active")
    # Saving a payment account records bank_account (payments.services), and a volunteer may record
    # it by hand for an account kept elsewhere, so the stage log answers "has a payment account".
    ever_bank_account = exists().where(
        StageEvent.merchant_id == m.id, StageEvent.stage == "bank_account", StageEvent.kind == "reached"
    )
    return {
        "follow_up": m.next_follow_up <= stages.local_date(now),
        # Two weeks running without a customer paying by QR, as the latest two weekly answers say.
        "stopped_using": checkins.stopped_using_where(m.id),
        "installed_not_using": and_(qr_issued_long_ago, ~qr_active),
        "no_payment_account": and_(m.current_stage.in_(worklist.BELOW_BANK_ACCOUNT), ~ever_bank_account),
        "stalled": and_(
            m.current_stage != STAGES[-1].code, m.stage_reached_at < stages.days_ago(now, STALLED_AFTER)
        ),
    }


class OverviewService:
    def __init__(self, session: AsyncSession):
        self.session = session

    def _visible(self, by: CurrentUser) -> ColumnElement[bool]:
        return MerchantService(self.session)._visible(by)

    async def worklist(self, *, by: CurrentUser, now: datetime, mine: bool | None = None) -> Worklist:
        """Merchants that need a visit or a stage recorded. A volunteer sees their share (`mine`,
        the default for volunteers); with mine=False, or for leaders and officers, everything in
        their jurisdiction with who takes each."""
        mine = by.role == "volunteer" if mine is None else mine
        m = Merchant
        reasons = reason_conditions(now)
        last_visitor = (
            select(Visit.volunteer_id)
            .where(Visit.merchant_id == m.id)
            .order_by(Visit.occurred_at.desc(), Visit.recorded_at.desc())
            .limit(1)
            .correlate(m)
            .scalar_subquery()
        )
        rows = (
            await self.session.execute(
                select(
                    m.id,
                    m.business_name,
                    m.market,
                    m.stall,
                    m.current_stage,
                    m.stage_reached_at,
                    m.next_follow_up,
                    m.team_id,
                    m.created_by_id,
                    last_visitor.label("last_visitor"),
                    *(condition.label(name) for name, condition in reasons.items()),
                )
                .where(self._visible(by), or_(*reasons.values()))
                .order_by(m.next_follow_up.asc().nulls_last(), m.stage_reached_at, m.id)
                .limit(WORKLIST_LIMIT)
            )
        ).all()
        teams = {row.team_id for row in rows}
        volunteers: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        names: dict[uuid.UUID, str] = {}
        if teams:
            for user_id, team_id, name in await self.session.execute(
                select(User.id, User.team_id, User.full_name).where(
                    User.team_id.in_(teams), User.role == "volunteer", User.active.is_(True)
                )
            ):
                volunteers[team_id].append(user_id)
                names[user_id] = name
        items = []
        for row in rows:
            assigned = worklist.assignee(
                merchant_id=row.id,
                last_visitor=row.last_visitor,
                registered_by=row.created_by_id,
                volunteers=volunteers[row.team_id],
            )
            if mine and assigned != by.id:
                continue
            held = [name for name in reasons if getattr(row, name)]
            reason = worklist.primary_reason(held)
            items.append(
                WorkItem(
                    merchant_id=row.id,
                    business_name=row.business_name,
                    market=row.market,
                    stall=row.stall,
                    current_stage=row.current_stage,
                    stage_reached_at=row.stage_reached_at,
                    next_follow_up=row.next_follow_up,
                    reason=reason,
                    reasons=held,
                    actions=[
                        WorkAction(kind=a.kind, stage=a.stage, url=action_url(row.id, a))
                        for a in worklist.actions(reason, current_stage=row.current_stage)
                    ],
                    assigned_to=assigned,
                    assigned_name=names.get(assigned) if assigned else None,
                )
            )
        order = list(worklist.REASONS)
        items.sort(
            key=lambda i: (order.index(i.reason), i.next_follow_up or datetime.max.date(), i.stage_reached_at)
        )
        counts = {reason: sum(1 for i in items if i.reason == reason) for reason in order}
        return Worklist(today=stages.local_date(now), mine=mine, items=items, counts=counts)

    async def team_progress(self, *, by: CurrentUser, team_id: uuid.UUID, now: datetime) -> TeamProgress:
        """The team's merchants by stage, each member's visits and stage moves over the last 30
        days, and the claims waiting for the leader."""
        teams = await AccountService(self.session).list_teams(by=by, team_id=team_id)
        if not teams:
            raise NotFound()
        m = Merchant
        in_team = and_(m.team_id == team_id, self._visible(by))
        current_verified = exists().where(
            MerchantStage.merchant_id == m.id,
            MerchantStage.stage == m.current_stage,
            MerchantStage.verified.is_(True),
        )
        by_stage: dict[str, list[MerchantRef]] = defaultdict(list)
        for row in await self.session.execute(
            select(
                m.id, m.business_name, m.current_stage, m.stage_reached_at, current_verified.label("verified")
            )
            .where(in_team)
            .order_by(m.name_fold, m.id)
        ):
            by_stage[row.current_stage].append(
                MerchantRef(
                    id=row.id,
                    business_name=row.business_name,
                    stage_reached_at=row.stage_reached_at,
                    verified=bool(row.verified),
                )
            )
        since = now - ACTIVITY_WINDOW
        visits = (
            select(func.count(Visit.id))
            .where(Visit.volunteer_id == User.id, Visit.visited_on >= stages.local_date(since))
            .correlate(User)
            .scalar_subquery()
        )
        moves = (
            select(func.count(StageEvent.id))
            .where(
                StageEvent.recorded_by_id == User.id,
                StageEvent.source == "manual",
                StageEvent.occurred_at >= since,
            )
            .correlate(User)
            .scalar_subquery()
        )
        activity = [
            MemberActivity(
                user_id=row.id, full_name=row.full_name, role=row.role, visits=row.v, stage_moves=row.s
            )
            for row in await self.session.execute(
                select(User.id, User.full_name, User.role, visits.label("v"), moves.label("s"))
                .where(User.team_id == team_id, User.active.is_(True))
                .order_by(User.role.desc(), User.full_name, User.id)
            )
        ]
        claimant = User.__table__.alias("claimant")
        claims = [
            Claim(
                event_id=event.id,
                merchant_id=event.merchant_id,
                business_name=business_name,
                stage=event.stage,
                occurred_at=event.occurred_at,
                claimed_by_id=event.recorded_by_id,
                claimed_by_name=claimed_by_name,
                note=event.note,
                evidence=event.evidence,
                age_days=(stages.local_date(now) - stages.local_date(event.occurred_at)).days,
            )
            for event, business_name, claimed_by_name in await self.session.execute(
                select(StageEvent, m.business_name, claimant.c.full_name)
                .join(MerchantStage, MerchantStage.event_id == StageEvent.id)
                .join(m, m.id == MerchantStage.merchant_id)
                .outerjoin(claimant, claimant.c.id == StageEvent.recorded_by_id)
                .where(in_team, MerchantStage.verified.is_(False), StageEvent.source == "manual")
                .order_by(StageEvent.occurred_at, StageEvent.id)
            )
        ]
        return TeamProgress(
            team_id=team_id,
            team_name=teams[0].name,
            total=sum(len(v) for v in by_stage.values()),
            stages=[
                StageCount(stage=s.code, count=len(by_stage[s.code]), merchants=by_stage[s.code])
                for s in STAGES
            ],
            activity=activity,
            since=since,
            claims=claims,
            can_review=by.role == "admin" or (by.role == "team_leader" and by.team_id == team_id),
        )

    async def leader_home(self, *, by: CurrentUser, now: datetime) -> LeaderHome | None:
        """The counts a team leader's home page starts from: claims waiting for their review and
        the team's visits past their promised day."""
        if by.team_id is None:
            return None
        progress = await self.team_progress(by=by, team_id=by.team_id, now=now)
        work = await self.worklist(by=by, now=now, mine=False)
        return LeaderHome(
            team_id=by.team_id,
            claims_waiting=len(progress.claims),
            oldest_claim_days=max((c.age_days for c in progress.claims), default=None),
            overdue_visits=work.counts.get("follow_up", 0),
        )

    async def signals(self, *, by: CurrentUser, merchant_id: uuid.UUID, now: datetime) -> Signals:
        """The trader's weekly answers and storefront reach, for the timeline."""
        merchant = await MerchantService(self.session).get(by=by, merchant_id=merchant_id)
        answers = CheckinService(self.session)
        recent = await answers.recent(merchant_id=merchant.id, limit=SIGNAL_ROWS)
        support = await answers.latest_paid(merchant_id=merchant.id)
        figures = await reach.totals(self.session, merchant_ids=[merchant.id], today=stages.local_date(now))
        return Signals(
            checkins=[checkins.out(row) for row in recent],
            support=checkins.out(support) if support else None,
            stopped_using=checkins.stopped_using(checkins.weeks_of(recent)),
            reach=figures.get(merchant.id) or reach.ReachTotals(),
        )

    async def team_signals(
        self, *, by: CurrentUser, team_id: uuid.UUID, now: datetime
    ) -> list[TraderSignals]:
        """The team's traders with a weekly answer in the last weeks or visitors to their storefront
        in the last 30 days, by name: what they said last and how far their page reaches."""
        m, c = Merchant, PaymentCheckin
        in_team = and_(m.team_id == team_id, self._visible(by))
        today = stages.local_date(now)
        names = dict(
            (
                await self.session.execute(
                    select(m.id, m.business_name).where(in_team).order_by(m.name_fold, m.id)
                )
            ).all()
        )
        latest: dict[uuid.UUID, list[PaymentCheckin]] = defaultdict(list)
        for row in await self.session.scalars(
            select(c)
            .join(m, m.id == c.merchant_id)
            .where(in_team, c.week >= week_number(today) - TEAM_SIGNAL_WEEKS)
            .order_by(c.merchant_id, c.week.desc())
        ):
            latest[row.merchant_id].append(row)
        figures = await reach.totals(self.session, merchant_ids=list(names), today=today)
        found = []
        for merchant_id, name in names.items():
            rows = latest.get(merchant_id, [])
            seen = figures.get(merchant_id)
            if not rows and not (seen and (seen.views_30d or seen.qr_fetches_30d)):
                continue
            newest = [r for r in rows if r.week == rows[0].week] if rows else []
            shown = max(newest, key=lambda r: (checkins.paid(r.answer), r.recorded_at), default=None)
            found.append(
                TraderSignals(
                    merchant_id=merchant_id,
                    business_name=name,
                    latest=checkins.out(shown) if shown else None,
                    stopped_using=checkins.stopped_using(checkins.weeks_of(rows)),
                    reach=seen or reach.ReachTotals(),
                )
            )
        return found

    async def ladder(
        self, *, by: CurrentUser, merchant_id: uuid.UUID
    ) -> tuple[MerchantOut, list[StageStatus]]:
        merchants = MerchantService(self.session)
        merchant = await merchants.get(by=by, merchant_id=merchant_id)
        return merchants.out(merchant, by=by), _ladder(
            stages.progress(map(as_rule, await events_of(self.session, merchant.id)))
        )

    async def timeline(self, *, by: CurrentUser, merchant_id: uuid.UUID) -> Timeline:
        """Registration, stage events, visits and other areas' changes, oldest first (the page shows
        them newest first), with who.

        Other areas appear here through the audit log: an entry whose entity_id is the merchant's
        id, whatever its entity_type ("payment_account", "storefront", …), is told as sentences
        (`sentences.py`): an account by its bank and last four digits, a product by its name and
        price; nothing else personal."""
        merchant = await MerchantService(self.session).get(by=by, merchant_id=merchant_id)
        events = await events_of(self.session, merchant.id)
        visits = list(
            await self.session.scalars(
                select(Visit).where(Visit.merchant_id == merchant.id).order_by(Visit.occurred_at)
            )
        )
        changes = list(
            await self.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity_id == str(merchant.id),
                    # The registration itself is the "registered" stage event.
                    not_(and_(AuditEntry.entity_type == "merchant", AuditEntry.action == "create")),
                )
            )
        )
        # Entries of one request share their moment: a storefront is made before its first product,
        # an account or a product before it changes.
        changes.sort(key=lambda c: (c.at, c.action != "create", "product_id" in c.changes))
        told = sentences.tell(
            (sentences.Entry(c.entity_type, c.action, dict(c.changes)) for c in changes),
            bank_name=_bank_name,
            field_label=lambda f: (
                gettext(FIELD_LABELS[f]) if f in FIELD_LABELS else gettext("thông tin khác")
            ),
        )
        people = {e.recorded_by_id for e in events} | {v.volunteer_id for v in visits}
        people |= {c.actor_id for c in changes}
        people.discard(None)
        names = dict(
            (await self.session.execute(select(User.id, User.full_name).where(User.id.in_(people)))).all()
            if people
            else []
        )
        rules = [as_rule(e) for e in events]
        reviewed = stages.reviews(rules)
        items = [_stage_item(e, reviewed.get(e.id)) for e in events]
        items += [_visit_item(v) for v in visits]
        items += [
            TimelineItem(
                at=c.at,
                kind="change",
                title=N_("Thay đổi"),
                entity_type=c.entity_type,
                action=c.action,
                fields=sorted(c.changes),
                sentences=said,
                by_id=c.actor_id,
            )
            for c, said in zip(changes, told, strict=True)
        ]
        for item in items:
            item.by_name = names.get(item.by_id)
        items.sort(key=lambda i: i.at)
        return Timeline(
            merchant_id=merchant.id,
            business_name=merchant.business_name,
            current_stage=merchant.current_stage,
            stage_reached_at=merchant.stage_reached_at,
            next_follow_up=merchant.next_follow_up,
            ladder=_ladder(stages.progress(rules)),
            items=items,
            can_record=by.role in RECORDERS,
        )


def _bank_name(bin_: str) -> str:
    bank = banks.by_bin(bin_)
    return bank.short_name if bank else bin_


def _ladder(now: stages.Progress) -> list[StageStatus]:
    rows = []
    for stage in stages.STAGES:
        held = stage.code in now.reached
        if held and stage.code in now.verified:
            status = "verified"
        elif held:
            status = "automatic" if now.holds[stage.code].source == "automatic" else "self_reported"
        elif stage.code in now.stood:
            status = "stopped"  # held by a claim that stood, until the trader stopped
        elif stage.code in now.ever:
            status = "rejected"  # only ever claimed, and a team leader sent the claim back
        elif stage.code in now.skipped:
            status = "skipped"
        else:
            status = "not_yet"
        rows.append(
            StageStatus(
                code=stage.code,
                order=stage.order,
                name=stage.name,
                criteria=stage.criteria,
                evidence=stage.evidence,
                claimable=stage.claimable,
                held=held,
                reached_at=now.reached.get(stage.code),
                status=status,  # type: ignore[arg-type]
            )
        )
    return rows


def _stage_item(row: StageEvent, review: str | None) -> TimelineItem:
    kind = "rejected" if row.kind == "regressed" and row.source == "review" else row.kind
    status = None
    if row.kind == "reached":
        status = "automatic" if row.source == "automatic" else (review or "self_reported")
    evidence = row.evidence or {}
    visit_on = evidence.get("visit_on")
    return TimelineItem(
        at=row.occurred_at,
        kind="stage",
        title=KIND_NAMES[kind],
        stage=row.stage,
        event_kind=kind,
        status=status,
        note=row.note,
        link=evidence.get("link"),
        visit_on=datetime.fromisoformat(visit_on).date() if visit_on else None,
        customer_payments_7d=evidence.get("customer_payments_7d"),
        by_id=row.recorded_by_id,
    )


def _visit_item(row: Visit) -> TimelineItem:
    return TimelineItem(
        at=row.occurred_at,
        kind="visit",
        title=N_("Thăm hỗ trợ"),
        minutes=row.minutes,
        topics=list(row.topics),
        outcome=row.outcome,
        note=row.note,
        next_follow_up=row.next_follow_up,
        by_id=row.volunteer_id,
    )
