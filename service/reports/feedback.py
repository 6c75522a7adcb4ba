"""The teams' feedback to the agencies that manage them: a problem or need per village (or for the
whole commune), counted and listed for officers until one marks it handled.

Retries: a tablet sends its own `id`. The same id again from the same reporter with the same
content is the same report (the first record comes back, nothing is added); the same id with other
content, or from someone else, is refused with 409 (`FeedbackIdTaken`), as for merchants: the id
names a record that already exists, so it is a conflict, not a malformed request.
"""

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service import audit
from service.accounts.models import Team, User, team_villages
from service.accounts.schemas import CurrentUser
from service.errors import DomainError, FieldErrors, Forbidden, NotFound
from service.i18n import N_, gettext
from service.merchants.search import CursorError, decode_cursor, encode_cursor
from service.places.models import Commune, Village
from service.reports.models import Feedback
from service.text import nfc_or_none

TOPICS = {
    "training": N_("Tập huấn"),
    "equipment": N_("Thiết bị"),
    "connectivity": N_("Kết nối mạng"),
    "platform": N_("Sự cố nền tảng"),
    "other": N_("Khác"),
}
Topic = Literal["training", "equipment", "connectivity", "platform", "other"]
Status = Literal["open", "handled", "all"]
STATUS_NAMES = {
    "open": N_("Chưa xử lý"),
    "handled": N_("Đã xử lý"),
    "all": N_("Tất cả"),
}
assert set(TOPICS) == set(Topic.__args__)  # type: ignore[attr-defined]

REPORTERS = ("volunteer", "team_leader")  # the team reports; officers receive
HANDLERS = ("commune_officer", "province_officer", "admin")
NOTE_MAX = 2000
HANDLED_NOTE_MAX = 1000
ENTITY = "feedback"
_CURSOR_SORT = "recent"


class FeedbackIn(Struct, kw_only=True, forbid_unknown_fields=True):
    """A problem or need. Without `village_id` it concerns the reporter's whole commune."""

    id: Annotated[
        uuid.UUID | None, Meta(description="Made by the tablet; the same id sent again is the same report")
    ] = None
    village_id: uuid.UUID | None = None
    topic: Topic | None = None
    note: Annotated[str, Meta(max_length=NOTE_MAX)] | None = None


class HandleIn(Struct, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, Meta(max_length=HANDLED_NOTE_MAX)] | None = None


class FeedbackOut(Struct, kw_only=True):
    id: uuid.UUID
    province_code: str
    commune_code: str
    commune_name: str | None
    village_id: uuid.UUID | None
    village_name: str | None
    team_id: uuid.UUID
    team_name: str | None
    topic: str
    note: str
    created_by_id: uuid.UUID
    created_by_name: str | None
    created_at: datetime
    status: Literal["open", "handled"]
    handled_at: datetime | None = None
    handled_by_id: uuid.UUID | None = None
    handled_by_name: str | None = None
    handled_note: str | None = None


class FeedbackPage(Struct, kw_only=True):
    items: list[FeedbackOut]
    next_cursor: str | None


class VillageChoice(Struct, frozen=True):
    id: uuid.UUID
    name: str


class FeedbackIdTaken(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__(N_("Mã phản ánh (id) này đã được dùng cho một phản ánh khác."), field="id")


def _status_filter(status: Status):
    if status == "open":
        return Feedback.handled_at.is_(None)
    if status == "handled":
        return Feedback.handled_at.is_not(None)
    return None


def _area(*, province_code: str | None, commune_code: str | None) -> list:
    conditions = []
    if province_code:
        conditions.append(Feedback.province_code == province_code)
    if commune_code:
        conditions.append(Feedback.commune_code == commune_code)
    return conditions


class FeedbackService:
    def __init__(self, session: AsyncSession):
        self.session = session

    def _visible(self, by: CurrentUser):
        return by.scope.where(
            province=Feedback.province_code, commune=Feedback.commune_code, team=Feedback.team_id
        )

    # --- the team's side -----------------------------------------------------------------------

    async def villages_for(self, *, by: CurrentUser) -> list[VillageChoice]:
        """The villages the caller's team covers: where it may report from."""
        if by.team_id is None:
            return []
        rows = await self.session.execute(
            select(Village.id, Village.name)
            .join(team_villages, team_villages.c.village_id == Village.id)
            .where(team_villages.c.team_id == by.team_id)
            .order_by(Village.name_fold)
        )
        return [VillageChoice(id=row.id, name=row.name) for row in rows]

    async def create(self, *, by: CurrentUser, data: FeedbackIn, at: datetime) -> tuple[FeedbackOut, bool]:
        """Record a team's report: (the report, whether it was already stored under `data.id`)."""
        if by.role not in REPORTERS or by.team_id is None:
            raise Forbidden()
        note = nfc_or_none(data.note)
        if data.id is not None and (stored := await self.session.get(Feedback, data.id)) is not None:
            return await self._replay(by=by, stored=stored, data=data, note=note), True

        errors: list[tuple[str, str]] = []
        if data.topic is None:
            errors.append(("topic", gettext("Hãy chọn loại vấn đề.")))
        if note is None:
            errors.append(("note", gettext("Hãy ghi rõ vấn đề hoặc nhu cầu.")))
        elif len(note) > NOTE_MAX:
            errors.append(("note", gettext("Tối đa {n} ký tự.", n=NOTE_MAX)))
        team = (
            await self.session.execute(
                select(Team.province_code, Team.commune_code).where(Team.id == by.team_id)
            )
        ).one_or_none()
        if team is None:
            raise Forbidden()
        if data.village_id is not None and not await self._covers(by.team_id, data.village_id):
            errors.append(("village_id", gettext("Thôn, tổ dân phố này không thuộc địa bàn của tổ bạn.")))
        if errors:
            raise FieldErrors(errors)

        row = Feedback(
            id=data.id or uuid.uuid4(),
            province_code=team.province_code,
            commune_code=team.commune_code,
            village_id=data.village_id,
            team_id=by.team_id,
            topic=data.topic,
            note=note,
            created_by_id=by.id,
            created_at=at,
        )
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError:
            # The same id sent twice at once: the first one stored wins, the other replays it.
            await self.session.rollback()
            if data.id is not None and (stored := await self.session.get(Feedback, data.id)) is not None:
                return await self._replay(by=by, stored=stored, data=data, note=note), True
            raise
        await audit.record(
            self.session,
            entity_type=ENTITY,
            entity_id=row.id,
            action="create",
            actor_id=by.id,
            at=at,
            changes=audit.diff(
                {},
                {
                    "village_id": row.village_id,
                    "commune_code": row.commune_code,
                    "team_id": row.team_id,
                    "topic": row.topic,
                    "note": row.note,
                },
            ),
            province_code=row.province_code,
        )
        await self.session.flush()
        return await self.get(by=by, feedback_id=row.id), False

    async def _replay(
        self, *, by: CurrentUser, stored: Feedback, data: FeedbackIn, note: str | None
    ) -> FeedbackOut:
        same = (
            stored.created_by_id == by.id
            and stored.village_id == data.village_id
            and stored.topic == data.topic
            and stored.note == note
        )
        if not same:
            raise FeedbackIdTaken()
        return await self.get(by=by, feedback_id=stored.id)

    async def _covers(self, team_id: uuid.UUID, village_id: uuid.UUID) -> bool:
        return (
            await self.session.scalar(
                select(team_villages.c.village_id).where(
                    team_villages.c.team_id == team_id, team_villages.c.village_id == village_id
                )
            )
        ) is not None

    # --- reading -------------------------------------------------------------------------------

    def _select(self):
        creator, handler = aliased(User), aliased(User)
        return (
            select(
                Feedback,
                Commune.name.label("commune_name"),
                Village.name.label("village_name"),
                Team.name.label("team_name"),
                creator.full_name.label("created_by_name"),
                handler.full_name.label("handled_by_name"),
            )
            .outerjoin(Commune, Commune.code == Feedback.commune_code)
            .outerjoin(Village, Village.id == Feedback.village_id)
            .outerjoin(Team, Team.id == Feedback.team_id)
            .outerjoin(creator, creator.id == Feedback.created_by_id)
            .outerjoin(handler, handler.id == Feedback.handled_by_id)
        )

    @staticmethod
    def _out(row) -> FeedbackOut:
        f: Feedback = row.Feedback
        return FeedbackOut(
            id=f.id,
            province_code=f.province_code,
            commune_code=f.commune_code,
            commune_name=row.commune_name,
            village_id=f.village_id,
            village_name=row.village_name,
            team_id=f.team_id,
            team_name=row.team_name,
            topic=f.topic,
            note=f.note,
            created_by_id=f.created_by_id,
            created_by_name=row.created_by_name,
            created_at=f.created_at,
            status="open" if f.handled_at is None else "handled",
            handled_at=f.handled_at,
            handled_by_id=f.handled_by_id,
            handled_by_name=row.handled_by_name,
            handled_note=f.handled_note,
        )

    async def get(self, *, by: CurrentUser, feedback_id: uuid.UUID) -> FeedbackOut:
        row = (
            await self.session.execute(
                self._select()
                .where(Feedback.id == feedback_id, self._visible(by))
                .execution_options(populate_existing=True)
            )
        ).one_or_none()
        if row is None:
            raise NotFound()
        return self._out(row)

    async def list(
        self,
        by: CurrentUser,
        *,
        province_code: str | None = None,
        commune_code: str | None = None,
        open_only: bool = True,
        status: Status | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> FeedbackPage:
        """Reports within the caller's jurisdiction (and the area, when given), newest first.
        `status` ("open", "handled", "all"), when given, wins over `open_only`."""
        conditions = [self._visible(by), *_area(province_code=province_code, commune_code=commune_code)]
        wanted = _status_filter(status or ("open" if open_only else "all"))
        if wanted is not None:
            conditions.append(wanted)
        if cursor:
            try:
                created_at, last_id = decode_cursor(cursor, _CURSOR_SORT)
            except CursorError as exc:
                raise FieldErrors([("cursor", gettext("Giá trị không hợp lệ."))]) from exc
            conditions.append(
                or_(
                    Feedback.created_at < created_at,
                    and_(Feedback.created_at == created_at, Feedback.id < last_id),
                )
            )
        rows = (
            await self.session.execute(
                self._select()
                .where(*conditions)
                .order_by(Feedback.created_at.desc(), Feedback.id.desc())
                .limit(limit + 1)
            )
        ).all()
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1].Feedback
            next_cursor = encode_cursor(_CURSOR_SORT, (last.created_at, last.id))
        return FeedbackPage(items=[self._out(r) for r in rows], next_cursor=next_cursor)

    async def counts(
        self, by: CurrentUser, *, province_code: str | None = None, commune_code: str | None = None
    ) -> dict[str, dict[str, int]]:
        """Open and handled reports per topic within the caller's jurisdiction and the area:
        {"open": {topic: n, ...}, "handled": {...}}, every topic present."""
        is_open = Feedback.handled_at.is_(None).label("is_open")
        rows = await self.session.execute(
            select(Feedback.topic, is_open, func.count())
            .where(self._visible(by), *_area(province_code=province_code, commune_code=commune_code))
            .group_by(Feedback.topic, is_open)
        )
        out: dict[str, dict[str, int]] = {
            "open": dict.fromkeys(TOPICS, 0),
            "handled": dict.fromkeys(TOPICS, 0),
        }
        for topic, open_, n in rows:
            out["open" if open_ else "handled"][topic] = n
        return out

    # --- the officers' side --------------------------------------------------------------------

    async def handle(
        self, *, by: CurrentUser, feedback_id: uuid.UUID, note: str | None, at: datetime
    ) -> tuple[FeedbackOut, bool]:
        """Mark a report handled: (the report, whether this call changed it). Handling twice keeps
        the first handler, time and note."""
        if by.role not in HANDLERS:
            raise Forbidden()
        note = nfc_or_none(note)
        if note is not None and len(note) > HANDLED_NOTE_MAX:
            raise FieldErrors([("note", gettext("Tối đa {n} ký tự.", n=HANDLED_NOTE_MAX))])
        found = (
            await self.session.execute(
                select(Feedback.id, Feedback.province_code).where(
                    Feedback.id == feedback_id, self._visible(by)
                )
            )
        ).one_or_none()
        if found is None:
            raise NotFound()
        # One conditional UPDATE: of two officers pressing at once, exactly one changes the row.
        changed = (
            await self.session.execute(
                update(Feedback)
                .where(Feedback.id == feedback_id, Feedback.handled_at.is_(None))
                .values(handled_at=at, handled_by_id=by.id, handled_note=note)
                .execution_options(synchronize_session=False)
            )
        ).rowcount == 1
        if changed:
            await audit.record(
                self.session,
                entity_type=ENTITY,
                entity_id=feedback_id,
                action="handle",
                actor_id=by.id,
                at=at,
                changes=audit.diff({}, {"handled_at": at, "handled_by_id": by.id, "handled_note": note}),
                province_code=found.province_code,
            )
            await self.session.flush()
        return await self.get(by=by, feedback_id=feedback_id), changed


PAGE_SIZE = 25


_AREA = re.compile(r"^(\d{2}|\d{5})$")


def parse_area(area: str | None) -> dict[str, str | None]:
    """`area` is a province code (2 digits) or a commune code (5 digits)."""
    if not area:
        return {"province_code": None, "commune_code": None}
    if not _AREA.match(area):
        raise FieldErrors([("area", gettext("Mã địa bàn không hợp lệ."))])
    return (
        {"province_code": area, "commune_code": None}
        if len(area) == 2
        else {
            "province_code": None,
            "commune_code": area,
        }
    )
