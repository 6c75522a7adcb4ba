"""The eight stages of the digital value chain (DESIGN §5) and the pure rules over them.

No database and no clock: callers pass events and `now`. A merchant's current stage is the highest
stage reached and not regressed; events are applied in the order they happened (`occurred_at`),
not the order they arrived, because tablets sync late.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from service.i18n import N_
from service.merchants.schemas import STAGE_NAMES

StageCode = Literal[
    "registered", "identity", "bank_account", "qr_issued", "qr_active", "listed", "ecommerce", "digital_ops"
]
EventKind = Literal["reached", "regressed", "verified"]
Evidence = Literal["none", "note", "visit", "link"]

VIETNAM = timezone(timedelta(hours=7))  # no daylight saving: "today" is Vietnam's date
QR_ACTIVE_AFTER = timedelta(days=7)  # the follow-up visit comes at least a week after the QR went up
INSTALLED_NOT_USING_AFTER = timedelta(days=30)
STALLED_AFTER = timedelta(days=60)


class Stage(msgspec.Struct, frozen=True, kw_only=True):
    code: StageCode
    order: int
    name: str  # Vietnamese msgid (the merchant record's vocabulary); English through the catalog
    criteria: str  # msgid
    evidence: Evidence  # what a volunteer's claim must carry
    automatic: bool  # recorded by the system when the matching action happens
    claimable: bool = True  # a volunteer may record it by hand (with its evidence)


STAGES: tuple[Stage, ...] = (
    Stage(
        code="registered",
        order=1,
        name=STAGE_NAMES["registered"],
        criteria=N_("Hồ sơ đã lưu, có sự đồng ý của chủ hộ"),
        evidence="none",
        automatic=True,
        claimable=False,
    ),
    Stage(
        code="identity",
        order=2,
        name=STAGE_NAMES["identity"],
        criteria=N_("Đã kích hoạt VNeID mức 2"),
        evidence="note",
        automatic=False,
    ),
    Stage(
        code="bank_account",
        order=3,
        name=STAGE_NAMES["bank_account"],
        criteria=N_("Có tài khoản ngân hàng hoặc ví điện tử nhận được chuyển khoản"),
        evidence="note",
        automatic=True,
    ),
    Stage(
        code="qr_issued",
        order=4,
        name=STAGE_NAMES["qr_issued"],
        criteria=N_("Mã VietQR đã in hoặc bày tại quầy"),
        evidence="note",
        automatic=True,
    ),
    Stage(
        code="qr_active",
        order=5,
        name=STAGE_NAMES["qr_active"],
        criteria=N_("Đã nhận thanh toán không tiền mặt từ khách, xác nhận khi thăm lại"),
        evidence="visit",
        automatic=False,
    ),
    Stage(
        code="listed",
        order=6,
        name=STAGE_NAMES["listed"],
        criteria=N_("Trang giới thiệu đã đăng với ít nhất một sản phẩm"),
        evidence="none",
        automatic=True,
        claimable=False,  # only publishing the storefront records it
    ),
    Stage(
        code="ecommerce",
        order=7,
        name=STAGE_NAMES["ecommerce"],
        criteria=N_("Bán trên sàn thương mại điện tử hoặc mạng xã hội (có đường dẫn)"),
        evidence="link",
        automatic=False,
    ),
    Stage(
        code="digital_ops",
        order=8,
        name=STAGE_NAMES["digital_ops"],
        criteria=N_("Dùng hóa đơn điện tử, sổ sách số hoặc khai thuế điện tử"),
        evidence="note",
        automatic=False,
    ),
)
BY_CODE: dict[str, Stage] = {s.code: s for s in STAGES}
assert tuple(STAGE_NAMES) == tuple(BY_CODE)


Source = Literal["automatic", "manual", "review"]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """What the rules need of a stored stage event."""

    stage: StageCode
    kind: EventKind
    occurred_at: datetime
    recorded_at: datetime
    # automatic: the system saw it happen; manual: a volunteer's claim or report; review: a team
    # leader's verification, or rejection (stored as `regressed`).
    source: Source = "manual"
    ref: object = None  # the stored event's id, carried through for the caller


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    stage: StageCode
    reached_at: datetime | None
    reached: dict[str, datetime]  # stages held now, with when each was (last) reached
    ever: frozenset[str]  # every stage ever reached, regressed or not
    # Every stage ever held by a claim that stood: held now, or held until the trader stopped (or
    # the fact behind an automatic stage went away); not a claim that a team leader rejected.
    stood: frozenset[str] = frozenset()
    verified: frozenset[str]  # stages a team leader confirmed (and not regressed since)
    skipped: tuple[str, ...]  # lower stages never reached: allowed, but shown
    holds: dict[str, Event] = {}  # for each stage held now, the `reached` event that began the hold


def _in_order(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.occurred_at, e.recorded_at))


def progress(events: Iterable[Event]) -> Progress:
    """Replay events in the order they happened (ties: the order they were recorded)."""
    holds: dict[str, Event] = {}
    verified: set[str] = set()
    ever: set[str] = set()
    stood: set[str] = set()
    for event in _in_order(events):
        if event.kind == "reached":
            holds.setdefault(event.stage, event)
            ever.add(event.stage)
        elif event.kind == "regressed":
            if holds.pop(event.stage, None) is not None and event.source != "review":
                stood.add(event.stage)
            verified.discard(event.stage)
        elif event.stage in holds:  # verifying a claim that still stands
            verified.add(event.stage)
    reached = {code: event.occurred_at for code, event in holds.items()}
    if not reached:
        return Progress(
            stage="registered",
            reached_at=None,
            reached={},
            ever=frozenset(ever),
            verified=frozenset(),
            skipped=(),
            stood=frozenset(stood),
        )
    top = max(reached, key=lambda code: BY_CODE[code].order)
    skipped = tuple(s.code for s in STAGES if s.order < BY_CODE[top].order and s.code not in ever)
    return Progress(
        stage=top,  # type: ignore[arg-type]
        reached_at=reached[top],
        reached=reached,
        ever=frozenset(ever),
        verified=frozenset(verified),
        skipped=skipped,
        holds=holds,
        stood=frozenset(stood | reached.keys()),
    )


def reviews(events: Iterable[Event]) -> dict[object, str]:
    """For each volunteer's claim (a manual `reached` that began a hold), by `ref`: "verified" or
    "rejected" once a team leader reviewed that hold, "self_reported" until then."""
    status: dict[object, str] = {}
    holds: dict[str, Event] = {}
    for event in _in_order(events):
        claim = holds.get(event.stage)
        if event.kind == "reached":
            if claim is None:
                holds[event.stage] = event
                if event.source == "manual":
                    status[event.ref] = "self_reported"
        elif claim is not None and claim.source == "manual":
            if event.kind == "verified":
                status[claim.ref] = "verified"
            elif event.source == "review":
                status[claim.ref] = "rejected"
        if event.kind == "regressed":
            holds.pop(event.stage, None)
    return status


def progress_at(events: Iterable[Event], at: datetime) -> Progress:
    """The progress as it stood at `at`: only what had happened by then."""
    return progress(e for e in events if e.occurred_at <= at)


def redundant(events: Sequence[Event], *, stage: str, at: datetime, kind: EventKind = "reached") -> bool:
    """Whether a `reached` (or `regressed`) of `stage` at `at` would repeat what the log already says.

    One hold, one `reached`; one gap, one `regressed`: the last thing that happened to the stage by
    `at`, or the next thing after it, is already of this kind. So two volunteers recording the same
    stage moments apart, or a claim synced late that an earlier-synced one covers, leave one event;
    a claim after a regression starts a new hold and is kept."""
    moves = [e for e in _in_order(events) if e.stage == stage and e.kind != "verified"]
    before = [e for e in moves if e.occurred_at <= at]
    after = [e for e in moves if e.occurred_at > at]
    return bool(before and before[-1].kind == kind) or bool(after and after[0].kind == kind)


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer's manual `reached` event with its evidence."""

    stage: StageCode
    occurred_at: datetime
    note: str | None = None
    link: str | None = None
    visit_on: date | None = None  # the follow-up visit where the trader confirmed use
    customer_payments_7d: int | None = None  # cashless payments from customers in the last 7 days


def check_claim(claim: Claim, *, qr_issued_at: datetime | None) -> list[tuple[str, str]]:
    """Field errors (field, msgid) that keep a claim from being recorded; empty when it stands."""
    stage = BY_CODE[claim.stage]
    errors: list[tuple[str, str]] = []
    if stage.code == "registered":
        return [("stage", N_("Giai đoạn này được ghi tự động khi đăng ký."))]
    if not stage.claimable:
        return [("stage", N_("Giai đoạn này được ghi tự động khi đăng gian hàng."))]
    if stage.evidence == "note" and len((claim.note or "").strip()) < 5:
        errors.append(("note", N_("Hãy ghi lại điều bạn đã thấy (ít nhất 5 ký tự).")))
    if stage.evidence == "link" and not _is_shop_link(claim.link):
        errors.append(("link", N_("Cần đường dẫn tới gian hàng (bắt đầu bằng https://).")))
    if stage.evidence == "visit":
        if qr_issued_at is None:
            errors.append(("stage", N_("Tiểu thương chưa có mã QR: chưa thể xác nhận dùng thường xuyên.")))
        elif claim.visit_on is None:
            errors.append(("visit_on", N_("Cần ngày thăm lại.")))
        elif claim.visit_on < (qr_issued_at + QR_ACTIVE_AFTER).date():
            errors.append(("visit_on", N_("Lần thăm lại phải sau khi có mã QR ít nhất 7 ngày.")))
        if claim.customer_payments_7d is None or claim.customer_payments_7d < 1:
            errors.append(
                ("customer_payments_7d", N_("Cần ít nhất một khoản thanh toán từ khách trong 7 ngày qua."))
            )
    return errors


ChangeKind = Literal["regressed", "verified", "rejected"]
REASON_MIN_LENGTH = 5


def check_change(
    *, kind: ChangeKind, stage: str, occurred_at: datetime, events: Sequence[Event], note: str | None
) -> list[tuple[str, str]]:
    """Field errors for a change to a stage already held: a regression ("stopped using"), or a team
    leader's verification or rejection of a volunteer's claim. Empty when the change stands.

    A rejection is stored as a `regressed` event from the review: the claim no longer counts, and
    the reason is its note, shown to the claimant on the merchant's timeline."""
    if stage == "registered":
        return [("stage", N_("Không thể thay đổi giai đoạn Đã đăng ký."))]
    then = progress_at(events, occurred_at)
    # Stopping needs a stage reached by then (if it already stopped, `redundant` says so); a review
    # needs the claim still standing.
    if stage not in (then.ever if kind == "regressed" else then.reached):
        return [("stage", N_("Tiểu thương chưa đạt giai đoạn này vào thời điểm đó."))]
    if kind != "regressed" and then.holds[stage].source == "automatic":
        return [("stage", N_("Giai đoạn ghi tự động không cần xác minh."))]
    if kind != "verified" and len((note or "").strip()) < REASON_MIN_LENGTH:
        return [("note", N_("Hãy ghi lý do (ít nhất 5 ký tự)."))]
    return []


def _is_shop_link(link: str | None) -> bool:
    if not link:
        return False
    parts = urlsplit(link.strip())
    return parts.scheme in ("http", "https") and "." in parts.netloc


def local_date(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def days_ago(now: datetime, age: timedelta) -> datetime:
    """The start of the Vietnamese day that makes something `age.days` calendar days old: whatever
    happened before it is that old or older. Ages are counted in calendar days, so the worklist, the
    reports (which keep figures by day) and a person counting on a calendar agree."""
    return datetime.combine(local_date(now) - age + timedelta(days=1), time(0), VIETNAM)


def installed_not_using(*, qr_issued_at: datetime | None, held: Sequence[str], now: datetime) -> bool:
    """QR issued 30+ days ago and still no confirmed use: the list that matters most."""
    return (
        qr_issued_at is not None
        and "qr_active" not in held
        and "qr_issued" in held
        and qr_issued_at < days_ago(now, INSTALLED_NOT_USING_AFTER)
    )


def stalled(*, stage: str, reached_at: datetime | None, now: datetime) -> bool:
    """At the same stage for 60+ days, below the top of the chain."""
    return stage != "digital_ops" and reached_at is not None and reached_at < days_ago(now, STALLED_AFTER)
