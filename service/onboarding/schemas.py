import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar.params import Parameter
from msgspec import Meta, Struct

from service.i18n import N_
from service.merchants.schemas import AUDIT_ACTIONS, FIELD_LABELS, STAGE_NAMES
from service.onboarding.sentences import Sentence
from service.onboarding.stages import StageCode
from service.onboarding.worklist import REASONS
from service.payments.checkins import ANSWERS as CHECKIN_ANSWERS
from service.payments.checkins import QUESTION as CHECKIN_QUESTION
from service.payments.checkins import week_label
from service.payments.schemas import PaymentCheckinOut
from service.storefronts.reach import ReachTotals

TOPICS = {
    "vneid": N_("VNeID (định danh điện tử)"),
    "bank_app": N_("Ứng dụng ngân hàng"),
    "qr_payments": N_("Thanh toán bằng QR"),
    "ecommerce": N_("Bán hàng trực tuyến"),
    "e_invoice_tax": N_("Hóa đơn điện tử và thuế điện tử"),
    "online_safety": N_("An toàn trên mạng, phòng lừa đảo"),
    "vssid": N_("VssID (bảo hiểm xã hội)"),
    "e_health_book": N_("Sổ sức khỏe điện tử"),
}
OUTCOMES = {
    "progressed": N_("Có tiến bộ"),
    "needs_help": N_("Cần hỗ trợ thêm"),
    "not_interested": N_("Chưa muốn tham gia"),
    "not_met": N_("Không gặp được"),
}
KIND_NAMES = {
    "reached": N_("Đạt giai đoạn"),
    "regressed": N_("Ngừng sử dụng"),
    "verified": N_("Tổ trưởng xác minh"),
    "rejected": N_("Tổ trưởng không xác nhận"),
}
ENTITY_NAMES = {  # other areas' audit entries on the timeline; an unknown type shows as it is
    "merchant": N_("Hồ sơ tiểu thương"),
    "payment_account": N_("Tài khoản nhận tiền"),
    "poster": N_("Áp phích mã QR"),
    "storefront": N_("Gian hàng trực tuyến"),
    "product": N_("Sản phẩm"),
}
STATUS_NAMES = {  # how a stage is held, as badges: a leader-verified claim reads differently
    "verified": N_("✓ đã xác minh"),
    "self_reported": N_("tự khai"),
    "automatic": N_("tự động"),
    "rejected": N_("bị trả lại"),
    "stopped": N_("đã ngừng"),
    "skipped": N_("chưa đạt"),  # a higher stage is held: allowed, and still not reached
    "not_yet": N_("chưa đạt"),
}
Topic = Literal[
    "vneid",
    "bank_app",
    "qr_payments",
    "ecommerce",
    "e_invoice_tax",
    "online_safety",
    "vssid",
    "e_health_book",
]
Outcome = Literal["progressed", "needs_help", "not_interested", "not_met"]
ClientEventId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Made by the tablet (a UUID is best); the same id sent again is the same event",
    ),
]
AwareDatetime = Annotated[datetime, Meta(tz=True, description="When it happened, with its UTC offset")]
Note = Annotated[str, Meta(max_length=1000)]

assert set(TOPICS) == set(Topic.__args__) and set(OUTCOMES) == set(Outcome.__args__)  # type: ignore[attr-defined]


class StageEventIn(Struct, kw_only=True, forbid_unknown_fields=True):
    """A stage reached (with its evidence), stopped ("regressed", with a reason), or a team leader's
    review of a volunteer's claim ("verified", or "rejected" with a reason)."""

    client_event_id: ClientEventId
    occurred_at: AwareDatetime
    stage: StageCode
    kind: Literal["reached", "regressed", "verified", "rejected"] = "reached"
    note: Note | None = None
    link: Annotated[str, Meta(max_length=500)] | None = None
    visit_on: Annotated[date | None, Meta(description="qr_active: the follow-up visit's date")] = None
    customer_payments_7d: (
        Annotated[
            int,
            Meta(
                ge=0,
                le=100_000,
                description="qr_active: cashless payments from customers in the last 7 days (transfers "
                "from team members do not count)",
            ),
        ]
        | None
    ) = None


class VisitIn(Struct, kw_only=True, forbid_unknown_fields=True):
    client_event_id: ClientEventId
    occurred_at: AwareDatetime
    visited_on: Annotated[date | None, Meta(description="Defaults to occurred_at's date in Vietnam")] = None
    minutes: Annotated[int, Meta(ge=1, le=600)]
    topics: Annotated[list[Topic], Meta(max_length=8)] = []
    outcome: Outcome
    note: Note | None = None
    next_follow_up: date | None = None


class StageEventOut(Struct, kw_only=True):
    id: uuid.UUID
    merchant_id: uuid.UUID
    client_event_id: str
    stage: str
    kind: str
    source: str
    occurred_at: datetime
    recorded_at: datetime
    recorded_by_id: uuid.UUID | None
    note: str | None
    evidence: dict[str, object] | None


class StageResult(Struct, kw_only=True):
    """`recorded` is false when the stage was already held (or already verified): nothing added."""

    recorded: bool
    event: StageEventOut | None
    current_stage: str
    stage_reached_at: datetime
    verified: list[str]


class VisitOut(Struct, kw_only=True):
    id: uuid.UUID
    merchant_id: uuid.UUID
    client_event_id: str
    volunteer_id: uuid.UUID
    visited_on: date
    occurred_at: datetime
    recorded_at: datetime
    minutes: int
    topics: list[str]
    outcome: str
    note: str | None
    next_follow_up: date | None


# --- views --------------------------------------------------------------------------------------


class StageStatus(Struct, kw_only=True):
    """One row of a merchant's stage ladder."""

    code: str
    order: int
    name: str
    criteria: str
    evidence: str
    claimable: bool
    held: bool
    reached_at: datetime | None
    status: Literal["verified", "self_reported", "automatic", "stopped", "rejected", "skipped", "not_yet"]


class TimelineItem(Struct, kw_only=True):
    at: datetime
    kind: Literal["stage", "visit", "change"]
    title: str  # msgid
    stage: str | None = None
    event_kind: str | None = None  # reached | regressed | verified | rejected
    status: str | None = None  # for a reached stage: verified | self_reported | automatic
    entity_type: str | None = None
    action: str | None = None
    fields: list[str] = []
    sentences: list[Sentence] = []  # a change from another area, told (see sentences.py)
    note: str | None = None
    link: str | None = None
    visit_on: date | None = None
    customer_payments_7d: int | None = None
    minutes: int | None = None
    topics: list[str] = []
    outcome: str | None = None
    next_follow_up: date | None = None
    by_id: uuid.UUID | None = None
    by_name: str | None = None


class Timeline(Struct, kw_only=True):
    merchant_id: uuid.UUID
    business_name: str
    current_stage: str
    stage_reached_at: datetime
    next_follow_up: date | None
    ladder: list[StageStatus]
    items: list[TimelineItem]
    can_record: bool


class WorkAction(Struct, kw_only=True):
    kind: Literal["visit", "stage"]
    stage: str | None
    url: str


class WorkItem(Struct, kw_only=True):
    merchant_id: uuid.UUID
    business_name: str
    market: str | None
    stall: str | None
    current_stage: str
    stage_reached_at: datetime
    next_follow_up: date | None
    reason: str  # the main one; decides the section and the action
    reasons: list[str]
    actions: list[WorkAction]
    assigned_to: uuid.UUID | None
    assigned_name: str | None


class Worklist(Struct, kw_only=True):
    today: date
    mine: bool
    items: list[WorkItem]
    counts: dict[str, int]  # by main reason


class MerchantRef(Struct, kw_only=True):
    id: uuid.UUID
    business_name: str
    stage_reached_at: datetime
    verified: bool  # the current stage was confirmed by a team leader


class StageCount(Struct, kw_only=True):
    stage: str
    count: int
    merchants: list[MerchantRef]


class MemberActivity(Struct, kw_only=True):
    user_id: uuid.UUID
    full_name: str
    role: str
    visits: int
    stage_moves: int


class Claim(Struct, kw_only=True):
    """A volunteer's claim waiting for the team leader."""

    event_id: uuid.UUID
    merchant_id: uuid.UUID
    business_name: str
    stage: str
    occurred_at: datetime
    claimed_by_id: uuid.UUID | None
    claimed_by_name: str | None
    note: str | None
    evidence: dict[str, object] | None
    age_days: int = 0  # calendar days (Vietnam's) it has waited


class LeaderHome(Struct, kw_only=True):
    """What a team leader's day starts from: what waits for them, each with its list."""

    team_id: uuid.UUID
    claims_waiting: int
    oldest_claim_days: int | None
    overdue_visits: int


class TeamProgress(Struct, kw_only=True):
    team_id: uuid.UUID
    team_name: str
    total: int
    stages: list[StageCount]
    activity: list[MemberActivity]
    since: datetime
    claims: list[Claim]
    can_review: bool


class Signals(Struct, kw_only=True):
    """Signals of real use for one trader: support for a claim, never a stage by themselves."""

    checkins: list[PaymentCheckinOut]  # the latest weekly answers, newest week first
    support: PaymentCheckinOut | None  # the latest answer saying customers paid by QR
    stopped_using: bool  # the two latest weeks answered are consecutive, without a paying customer
    reach: ReachTotals


class TraderSignals(Struct, kw_only=True):
    """One trader of the team's page: the latest weekly answer and the storefront's reach."""

    merchant_id: uuid.UUID
    business_name: str
    latest: PaymentCheckinOut | None  # of the latest week answered (a paying answer first)
    stopped_using: bool
    reach: ReachTotals


def to_json(value: object) -> bytes:
    return msgspec.json.encode(value)


def template_labels() -> dict[str, Any]:
    """The code → label tables the onboarding templates (and the volunteer's home) use."""
    return {
        "stage_names": STAGE_NAMES,
        "topics": TOPICS,
        "outcomes": OUTCOMES,
        "statuses": STATUS_NAMES,
        "reasons": REASONS,
        "entities": ENTITY_NAMES,
        "audit_actions": AUDIT_ACTIONS,
        "field_labels": FIELD_LABELS,
        "checkin_question": CHECKIN_QUESTION,
        "checkin_answers": CHECKIN_ANSWERS,
        "week_label": week_label,
    }


Cursor = Annotated[str | None, Parameter(max_length=400)]
