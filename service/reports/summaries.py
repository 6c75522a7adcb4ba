"""The officer's summary of an area: the country, a province, a commune, a village or a team, with
the same figures for each sub-area one level down (drill-down).

Merchant figures come from the counters (`reports.counters`), summed in SQL: a province reads a few
thousand rows whatever its size. Time-dependent figures are cut at `now` here, so every number is
exact at the moment of the request. Teams, members and active volunteers are counted from their own
tables through covering indexes.

Jurisdiction: `resolve` turns the request into an area the caller may see (403 otherwise); every
figure below comes from that area's rows only.
"""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import msgspec
from sqlalchemy import ColumnElement, Text, and_, case, cast, distinct, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Team, User, team_villages
from service.accounts.schemas import CurrentUser
from service.errors import FieldErrors, Forbidden
from service.i18n import gettext
from service.onboarding.stages import (
    INSTALLED_NOT_USING_AFTER,
    STAGES,
    STALLED_AFTER,
    days_ago,
    local_date,
)
from service.places.models import Commune, Province, Village
from service.reports.counters import LAST_STAGE
from service.reports.models import ReportCount, Target

Level = Literal["country", "province", "commune", "village", "team"]
CODES = {"province": "p", "commune": "c", "village": "v", "team": "t"}
MEMBER_ROLES = ("volunteer", "team_leader")
ACTIVE_WITHIN = timedelta(days=30)  # an active volunteer made a visit in the last 30 days
PAYING_WITHIN = timedelta(days=30)  # a paying merchant reported a cashless payment in the last 30 days
# Monthly counters → the summary's trend figures (the last 12 months).
MONTHLY = {
    "new": "new_by_month",
    "visits": "visits_by_month",
    "checkins": "checkins_by_month",
    "views": "storefront_views_by_month",
    "qr_fetches": "qr_fetches_by_month",
}
TREND_MONTHS = 12
BEHIND_SHOWN = 5
PLAIN = ("hold", "merchants", "stage", "reached", "unused")  # counters read whatever their bucket
NO_VILLAGE = "-"  # the village "code" of a commune's merchants that have no village


class Figures(msgspec.Struct, kw_only=True):
    """Every figure of one area."""

    level: Level
    code: str | None  # province or commune code, village or team id; None for the country
    name: str
    merchants: int = 0
    by_stage: dict[str, int] = {}  # stage → merchants at it now (their highest stage held)
    # stage → merchants that hold it now, whatever their highest stage: reached, not regressed, and
    # not a claim that a team leader rejected.
    holding: dict[str, int] = {}
    using_qr: int = 0  # holding qr_active: the headline figure
    using_qr_percent: float = 0.0  # of the merchants
    reached: dict[str, int] = {}  # stage → merchants that ever held it by a claim that stood
    qr_held_not_used: int = 0  # hold qr_issued, not qr_active
    qr_just_started: int = 0  # ... since fewer than 30 days
    installed_not_using: int = 0  # ... since 30 days or more
    stalled: int = 0  # at the same stage for 60+ days, below the top
    teams: int = 0  # active teams
    members: int = 0  # volunteers and team leaders of active teams
    active_volunteers: int = 0  # volunteers of active teams with a visit in the last 30 days
    active_leaders: int = 0  # team leaders of active teams with a visit in the last 30 days
    visits_by_month: dict[str, int] = {}  # "YYYY-MM" → visits, the last 12 months
    new_by_month: dict[str, int] = {}  # "YYYY-MM" → merchants registered
    # Signals of real use: merchants with a paying weekly check-in in the last 30 calendar days;
    # check-ins, storefront page views and payment QR fetches per month.
    paying_merchants_30d: int = 0
    checkins_by_month: dict[str, int] = {}
    storefront_views_by_month: dict[str, int] = {}
    qr_fetches_by_month: dict[str, int] = {}

    def share_holding(self, stage: str) -> float:
        return self.holding.get(stage, 0) / self.merchants if self.merchants else 0.0


class Behind(msgspec.Struct, kw_only=True):
    code: str | None
    name: str
    merchants: int
    percent: float  # holding the stage now


class TargetProgress(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    area: str  # "" for the country
    area_name: str
    stage: str
    share_percent: int
    due_on: date
    percent: float  # of this summary's area, holding the stage now
    met: bool
    behind_count: int  # sub-areas below the target
    behind: list[Behind]  # the first of them, furthest behind first


class Summary(Figures, kw_only=True):
    as_of: datetime
    # Medians of the area itself (a sub-area's are on its own summary): days from registration to
    # holding the stage, over the merchants that hold it.
    median_days_to_qr_active: float | None = None
    median_days_to_listed: float | None = None
    parents: list[dict[str, str | None]] = []  # the way up, for breadcrumbs: {"level", "code", "name"}
    children: list[Figures] = []
    teams_list: list[Figures] = []  # a commune's teams, beside its villages
    targets: list[TargetProgress] = []
    sub_areas_behind: int = 0  # children below at least one of the targets


@dataclass(frozen=True)
class Area:
    level: Level
    code: str | None
    name: str
    province_code: str | None = None
    commune_code: str | None = None


def months_back(today: date, count: int = TREND_MONTHS) -> list[str]:
    """The last `count` months, oldest first, ending with today's."""
    year, mon = today.year, today.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return out[::-1]


def _percent(share: float) -> float:
    return round(share * 100, 1)


def _median(buckets: Sequence[tuple[str, int]]) -> float | None:
    """The median of a histogram given as (days, count) in ascending order."""
    total = sum(n for _, n in buckets)
    if not total:
        return None
    low = high = None
    running = 0
    for days, n in buckets:
        running += n
        if low is None and running * 2 >= total:
            low = int(days)
        if running * 2 > total:
            high = int(days)
            break
    assert low is not None and high is not None
    return (low + high) / 2


class SummaryService:
    def __init__(self, session: AsyncSession):
        self.session = session

    # --- which area ---------------------------------------------------------------------------

    async def resolve(
        self,
        *,
        by: CurrentUser,
        area: str | None = None,
        village: uuid.UUID | None = None,
        team: uuid.UUID | None = None,
    ) -> Area:
        """The area asked for, or the caller's whole jurisdiction. 403 outside it, 422 when unknown."""
        scope = by.scope
        if team is not None or (area is None and village is None and scope.level == "team"):
            team_id = team if team is not None else by.team_id
            row = await self._place(Team, team_id)
            if row is None:
                raise FieldErrors([("team", gettext("Không có tổ này."))])
            if not (
                scope.allows_area(province_code=row.province_code, commune_code=row.commune_code)
                and (scope.level != "team" or row.id == by.team_id)
            ):
                raise Forbidden()
            return Area("team", row.id.hex, row.name, row.province_code, row.commune_code)
        if scope.level == "team":
            raise Forbidden()  # teams see their own figures; areas are for officers
        if village is not None:
            row = await self._place(Village, village)
            if row is None:
                raise FieldErrors([("village", gettext("Không có thôn, tổ dân phố này."))])
            if not scope.allows_area(province_code=row.province_code, commune_code=row.commune_code):
                raise Forbidden()
            return Area("village", row.id.hex, row.name, row.province_code, row.commune_code)
        if area is None:
            area = {"all": None, "province": by.province_code, "commune": by.commune_code}[scope.level]
        if area is None:
            return Area("country", None, gettext("Cả nước"))
        if len(area) == 2 and (province := await self.session.get(Province, area)) is not None:
            if not scope.allows_area(province_code=province.code):
                raise Forbidden()
            return Area("province", province.code, province.name, province.code)
        if len(area) == 5 and (commune := await self.session.get(Commune, area)) is not None:
            if not scope.allows_area(province_code=commune.province_code, commune_code=commune.code):
                raise Forbidden()
            return Area("commune", commune.code, commune.name, commune.province_code, commune.code)
        raise FieldErrors([("area", gettext("Mã tỉnh/thành phố hoặc xã/phường không tồn tại."))])

    async def _rows(self, query):
        """Rows of a query of columns, read through the session's connection: the ORM's result
        processing costs more than the query itself for the thousands of counter rows of a province."""
        return await (await self.session.connection()).execute(query)

    async def _scalar(self, query):
        return (await self._rows(query)).scalar()

    async def _place(self, model: type[Team] | type[Village], ident: uuid.UUID | None):
        """A team or a village: its id, name, province and commune; None if there is none."""
        query = select(model.id, model.name, model.province_code, model.commune_code).where(model.id == ident)
        return (await self._rows(query)).one_or_none()

    # --- the summary --------------------------------------------------------------------------

    async def summary(
        self,
        *,
        by: CurrentUser,
        now: datetime,
        area: str | None = None,
        village: uuid.UUID | None = None,
        team: uuid.UUID | None = None,
    ) -> Summary:
        place = await self.resolve(by=by, area=area, village=village, team=team)
        return await self.of(place, now=now)

    async def of(self, place: Area, *, now: datetime) -> Summary:
        months = months_back(local_date(now))
        children = await self._children(place)
        figures: dict[str, dict] = {}
        if children:
            level = children[0].level
            # The country's provinces are all the provinces: no list to send.
            figures = await self._figures(
                level, None if level == "province" else [c.code for c in children], now=now
            )
        if place.level in ("country", "province", "commune"):
            # The area is its children added up: the country its provinces, a province its communes,
            # a commune its villages and the merchants without one.
            own = {place.code or "": _added(figures.values())}
        else:
            own = await self._figures(place.level, [place.code], now=now)
        summary = Summary(
            level=place.level,
            code=place.code,
            name=place.name,
            as_of=now,
            parents=await self._parents(place),
            **_fields(own.get(place.code or ""), months),
            **await self._medians(place),
        )
        summary.children = [
            Figures(level=c.level, code=c.code, name=c.name, **_fields(figures.get(c.code or ""), months))
            for c in children
        ]
        if place.level == "commune":
            teams = await self._teams_of(place)
            team_figures = await self._figures("team", [t.code for t in teams], now=now) if teams else {}
            summary.teams_list = [
                Figures(
                    level="team", code=t.code, name=t.name, **_fields(team_figures.get(t.code or ""), months)
                )
                for t in teams
            ]
        await self._people(place, summary, now=now)
        summary.targets = await self._targets(place, summary, today=local_date(now))
        summary.sub_areas_behind = sum(1 for child in summary.children if is_behind(child, summary.targets))
        return summary

    async def _targets(self, place: Area, summary: Summary, *, today: date) -> list[TargetProgress]:
        """Targets that apply to the area (its own and those of the areas above it) and are not yet
        past their date, nearest date first, with the sub-areas below each, furthest behind first."""
        applies = [Target.area == ""]
        if place.province_code:
            applies.append(Target.area == place.province_code)
        if place.commune_code:
            applies.append(Target.area == place.commune_code)
        rows = await self.session.scalars(
            select(Target).where(or_(*applies), Target.due_on >= today).order_by(Target.due_on, Target.stage)
        )
        names = {p["code"] or "": p["name"] or "" for p in summary.parents}
        names[place.code or ""] = place.name
        out = []
        for target in rows:
            goal = target.share_percent
            percent = _percent(summary.share_holding(target.stage))
            behind = sorted(
                (
                    Behind(
                        code=child.code,
                        name=child.name,
                        merchants=child.merchants,
                        percent=_percent(child.share_holding(target.stage)),
                    )
                    for child in summary.children
                    if child.merchants
                ),
                key=lambda b: (b.percent, -b.merchants),
            )
            out.append(
                TargetProgress(
                    id=target.id,
                    area=target.area,
                    area_name=names.get(target.area, target.area),
                    stage=target.stage,
                    share_percent=goal,
                    due_on=target.due_on,
                    percent=percent,
                    met=percent >= goal,
                    behind_count=sum(1 for b in behind if b.percent < goal),
                    behind=[b for b in behind if b.percent < goal][:BEHIND_SHOWN],
                )
            )
        return out

    async def _parents(self, place: Area) -> list[dict[str, str | None]]:
        way: list[dict[str, str | None]] = [{"level": "country", "code": None, "name": gettext("Cả nước")}]
        if place.level in ("commune", "village", "team") and place.province_code:
            province = await self.session.get(Province, place.province_code)
            way.append(
                {"level": "province", "code": place.province_code, "name": province.name if province else ""}
            )
        if place.level in ("village", "team") and place.commune_code:
            commune = await self.session.get(Commune, place.commune_code)
            way.append(
                {"level": "commune", "code": place.commune_code, "name": commune.name if commune else ""}
            )
        return way if place.level != "country" else []

    async def _children(self, place: Area) -> list[Area]:
        if place.level == "country":
            rows = await self._rows(select(Province.code, Province.name).order_by(Province.code))
            return [Area("province", code, name, code) for code, name in rows]
        if place.level == "province":
            rows = await self._rows(
                select(Commune.code, Commune.name)
                .where(Commune.province_code == place.code)
                .order_by(Commune.code)
            )
            return [Area("commune", code, name, place.code, code) for code, name in rows]
        if place.level == "commune":
            rows = await self._rows(
                select(Village.id, Village.name)
                .where(Village.commune_code == place.code)
                .order_by(Village.name)
            )
            villages = [Area("village", vid.hex, name, place.province_code, place.code) for vid, name in rows]
            return [
                *villages,
                Area(
                    "village",
                    f"{place.code}{NO_VILLAGE}",
                    gettext("Chưa gán thôn"),
                    place.province_code,
                    place.code,
                ),
            ]
        return []

    async def _teams_of(self, place: Area) -> list[Area]:
        rows = await self._rows(
            select(Team.id, Team.name).where(Team.commune_code == place.code, Team.active).order_by(Team.name)
        )
        return [Area("team", tid.hex, name, place.province_code, place.code) for tid, name in rows]

    async def _figures(
        self,
        level: Level,
        areas: Sequence[str | None] | None,
        *,
        now: datetime,
    ) -> dict[str, dict]:
        """Merchant figures per area of one level (`areas` None: every area of the level), from the
        counters."""
        code = CODES[level]
        c = ReportCount
        where: list[ColumnElement[bool]] = [c.level == code]
        if areas is not None:
            where.append(c.area.in_(list(areas)))
        months = months_back(local_date(now))
        # "30+ days ago" is everything but the last days: the day buckets after the cut are
        # subtracted, a short range of the key whatever the area's age. "Paying in the last 30
        # days" is the sum of those buckets (each merchant's latest paying day).
        cuts = {
            metric: (local_date(days_ago(now, age)) - timedelta(days=1)).isoformat()
            for metric, age in (
                ("unused_on", INSTALLED_NOT_USING_AFTER),
                ("stalled_on", STALLED_AFTER),
                ("paid_on", PAYING_WITHIN),
            )
        }
        # Ranges of the key (level, metric, area, bucket): every bucket of the plain metrics, the
        # last months of the monthly ones, the days after each cut. The database folds them into
        # one JSON object per area, {metric: {bucket: n}}: a large commune's villages and teams
        # are tens of thousands of rows, which cost more to fetch one by one than to read.
        rows = select(c.area, c.metric, c.bucket, c.n).where(*where)
        parts = union_all(
            rows.where(c.metric.in_(PLAIN)),
            rows.where(c.metric.in_(tuple(MONTHLY)), c.bucket >= months[0]),
            *(rows.where(c.metric == metric, c.bucket > cut) for metric, cut in cuts.items()),
        ).subquery("parts")
        dialect = self.session.get_bind().dialect.name
        p = parts.c
        per_metric = (
            select(p.area, p.metric, _json_object(p.bucket, p.n, dialect).label("buckets"))
            .group_by(p.area, p.metric)
            .subquery("per_metric")
        )
        m = per_metric.c
        found = await self._rows(
            select(m.area, _json_object(m.metric, m.buckets, dialect, nested=True)).group_by(m.area)
        )
        out: dict[str, dict] = {}
        for area, blob in found.all():
            metrics: dict[str, dict[str, int]] = msgspec.json.decode(blob)
            merchants = metrics.get("merchants", {}).get("", 0)
            by_stage = metrics.get("stage", {})
            unused = metrics.get("unused", {}).get("", 0)
            recent = {metric: sum(metrics.get(metric, {}).values()) for metric in cuts}
            out[area] = {
                "merchants": merchants,
                "by_stage": by_stage,
                "holding": metrics.get("hold", {}),
                "reached": metrics.get("reached", {}),
                **{name: metrics.get(metric, {}) for metric, name in MONTHLY.items()},
                "qr_held_not_used": unused,
                "installed_not_using": unused - recent["unused_on"],
                "stalled": merchants - by_stage.get(LAST_STAGE, 0) - recent["stalled_on"],
                "paying_merchants_30d": recent["paid_on"],
            }
        return out

    async def _medians(self, place: Area) -> dict[str, float | None]:
        """The area's medians from its day-count histograms: one row per distinct number of days
        (the country adds its provinces' up), a few hundred at most."""
        c = ReportCount
        where = [c.level == CODES["province" if place.level == "country" else place.level]]
        if place.code is not None:
            where.append(c.area == place.code)
        rows = await self._rows(
            select(c.metric, c.bucket, func.sum(c.n))
            .where(*where, c.metric.in_(("to_qr_active", "to_listed")), c.n > 0)
            .group_by(c.metric, c.bucket)
            .order_by(c.metric, c.bucket)
        )
        histograms: dict[str, list[tuple[str, int]]] = {"to_qr_active": [], "to_listed": []}
        for metric, bucket, n in rows:
            histograms[metric].append((bucket, int(n)))
        return {f"median_days_{metric}": _median(buckets) for metric, buckets in histograms.items()}

    async def _people(self, place: Area, summary: Summary, *, now: datetime) -> None:
        """Teams, members, active volunteers and active team leaders of the area and of each child:
        active teams only, and their active members."""
        since = days_ago(now, ACTIVE_WITHIN)  # today and the 29 days before: 30 calendar days
        member = and_(User.active, User.role.in_(MEMBER_ROLES), Team.active)
        recent = User.last_visit_at >= since
        active = (
            func.sum(case((and_(recent, User.role == "volunteer"), 1), else_=0)),
            func.sum(case((and_(recent, User.role == "team_leader"), 1), else_=0)),
        )
        rows: dict[str, tuple[int, ...]] = {}
        if place.level in ("country", "province"):
            key = Team.province_code if place.level == "country" else Team.commune_code
            within = [Team.province_code == place.code] if place.level == "province" else []
            teams = dict(
                (await self._rows(select(key, func.count()).where(Team.active, *within).group_by(key))).all()
            )
            # Every member by the users' own area (a covering index), less the members of the few
            # inactive teams (looked up by team): joining every user with its team costs several
            # times more at the country's scale.
            user_key = User.province_code if place.level == "country" else User.commune_code
            user_within = [User.province_code == place.code] if place.level == "province" else []
            people = select(user_key, func.count(), *active).where(
                User.active, User.role.in_(MEMBER_ROLES), *user_within
            )
            inactive = select(Team.id).where(~Team.active).scalar_subquery()
            gone = {
                area: figures
                for area, *figures in await self._rows(
                    people.where(User.team_id.in_(inactive)).group_by(user_key)
                )
            }
            for area, *figures in await self._rows(people.group_by(user_key)):
                less = gone.get(area, (0, 0, 0))
                members, volunteers, leaders = (
                    int(n or 0) - int(m or 0) for n, m in zip(figures, less, strict=True)
                )
                rows[area] = (teams.get(area, 0), members, volunteers, leaders)
            for area, n in teams.items():
                rows.setdefault(area, (n, 0, 0, 0))
            total = tuple(sum(values[i] for values in rows.values()) for i in range(4))
        elif place.level == "commune":
            village_rows = await self._rows(
                select(
                    team_villages.c.village_id,
                    func.count(distinct(Team.id)),
                    func.count(distinct(User.id)),
                    func.count(distinct(case((and_(recent, User.role == "volunteer"), User.id)))),
                    func.count(distinct(case((and_(recent, User.role == "team_leader"), User.id)))),
                )
                .join(Team, Team.id == team_villages.c.team_id)
                .outerjoin(User, and_(User.team_id == Team.id, member))
                .where(Team.commune_code == place.code, Team.active)
                .group_by(team_villages.c.village_id)
            )
            for village_id, *figures in village_rows:
                rows[village_id.hex] = tuple(figures)
            total = await self._team_people(Team.commune_code == place.code, member, active)
            per_team = await self._rows(
                select(User.team_id, func.count(), *active)
                .select_from(User)
                .join(Team, Team.id == User.team_id)
                .where(member, Team.commune_code == place.code)
                .group_by(User.team_id)
            )
            team_rows = {
                team_id.hex: (1, members, int(volunteers or 0), int(leaders or 0))
                for team_id, members, volunteers, leaders in per_team
            }
            for figures in summary.teams_list:
                _set_people(figures, team_rows.get(figures.code or "", (1, 0, 0, 0)))
        elif place.level == "village":
            covering = select(team_villages.c.team_id).where(
                team_villages.c.village_id == uuid.UUID(place.code or "")
            )
            total = await self._team_people(Team.id.in_(covering), member, active)
        else:
            total = await self._team_people(Team.id == uuid.UUID(place.code or ""), member, active)
        _set_people(summary, total)
        for child in summary.children:
            _set_people(child, rows.get(child.code or "", (0, 0, 0, 0)))

    async def _team_people(
        self, teams: ColumnElement[bool], member: ColumnElement[bool], active: tuple[ColumnElement, ...]
    ) -> tuple[int, ...]:
        team_count = await self._scalar(select(func.count()).select_from(Team).where(teams, Team.active))
        members, volunteers, leaders = (
            await self._rows(
                select(func.count(), *active)
                .select_from(User)
                .join(Team, Team.id == User.team_id)
                .where(teams, member)
            )
        ).one()
        return int(team_count or 0), int(members or 0), int(volunteers or 0), int(leaders or 0)


def _json_object(key: ColumnElement, value: ColumnElement, dialect: str, *, nested: bool = False):
    """The aggregate that makes a JSON object of a group's (key, value) pairs; `nested`: the values
    are JSON objects themselves, and the outer object comes as text on both databases."""
    if dialect == "postgresql":
        return cast(func.json_object_agg(key, value), Text) if nested else func.json_object_agg(key, value)
    return func.json_group_object(key, func.json(value) if nested else value)


def is_behind(figures: Figures, targets: Sequence[TargetProgress]) -> bool:
    """Whether an area with merchants is below at least one of the targets."""
    return bool(figures.merchants) and any(
        _percent(figures.share_holding(t.stage)) < t.share_percent for t in targets
    )


def _set_people(figures: Figures, values: Sequence[int]) -> None:
    figures.teams, figures.members, figures.active_volunteers, figures.active_leaders = values


def _added(many) -> dict:
    """Figures of areas that together make a larger one, added up."""
    total: dict = {
        "by_stage": Counter(),
        "holding": Counter(),
        "reached": Counter(),
        **{name: Counter() for name in MONTHLY.values()},
    }
    for figures in many:
        for name, value in figures.items():
            if isinstance(value, dict):
                total[name].update(value)
            else:
                total[name] = total.get(name, 0) + value
    return {name: dict(value) if isinstance(value, Counter) else value for name, value in total.items()}


def _fields(figures: dict | None, months: list[str]) -> dict:
    """Counter figures as Figures keyword arguments, with every stage and every month present."""
    figures = dict(figures or {})
    for name, keys in (
        ("by_stage", [s.code for s in STAGES]),
        ("holding", [s.code for s in STAGES]),
        ("reached", [s.code for s in STAGES]),
        *((name, months) for name in MONTHLY.values()),
    ):
        found = figures.get(name, {})
        figures[name] = {k: found.get(k, 0) for k in keys}
    figures["using_qr"] = figures["holding"]["qr_active"]
    merchants = figures.get("merchants", 0)
    figures["using_qr_percent"] = _percent(figures["using_qr"] / merchants) if merchants else 0.0
    figures["qr_just_started"] = figures.get("qr_held_not_used", 0) - figures.get("installed_not_using", 0)
    return figures
