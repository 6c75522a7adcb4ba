from datetime import UTC, date, datetime, timedelta

import pytest

from service.onboarding.stages import (
    BY_CODE,
    STAGES,
    Claim,
    Event,
    check_change,
    check_claim,
    days_ago,
    installed_not_using,
    progress,
    redundant,
    reviews,
    stalled,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def ev(
    stage: str, kind: str = "reached", days: float = 0, recorded: float | None = None, source: str = "manual"
) -> Event:
    at = T0 + timedelta(days=days)
    return Event(
        stage=stage,
        kind=kind,
        occurred_at=at,
        recorded_at=T0 + timedelta(days=recorded or days),
        source=source,
        ref=object(),
    )


def test_the_chain_has_eight_stages_in_order() -> None:
    assert [s.code for s in STAGES] == [
        "registered",
        "identity",
        "bank_account",
        "qr_issued",
        "qr_active",
        "listed",
        "ecommerce",
        "digital_ops",
    ]
    assert [s.order for s in STAGES] == list(range(1, 9))
    assert {s.code for s in STAGES if s.automatic} == {"registered", "bank_account", "qr_issued", "listed"}


def test_current_stage_is_the_highest_reached() -> None:
    result = progress([ev("registered"), ev("bank_account", days=2), ev("qr_issued", days=3)])
    assert (result.stage, result.reached_at) == ("qr_issued", T0 + timedelta(days=3))
    assert result.skipped == ("identity",)


def test_a_regression_lowers_the_current_stage() -> None:
    events = [
        ev("registered"),
        ev("qr_issued", days=1),
        ev("qr_active", days=10),
        ev("qr_active", "regressed", 40),
    ]
    result = progress(events)
    assert result.stage == "qr_issued"
    assert "qr_active" in result.ever and "qr_active" not in result.reached


def test_events_are_placed_by_when_they_happened_not_when_they_arrived() -> None:
    # The regression was recorded offline on day 40 but synced after a new 'reached' of day 50.
    late_sync = [
        ev("registered"),
        ev("qr_active", days=10),
        ev("qr_active", "reached", days=50, recorded=50),
        ev("qr_active", "regressed", days=40, recorded=60),
    ]
    result = progress(late_sync)
    assert result.stage == "qr_active"
    assert result.reached_at == T0 + timedelta(days=50)


def test_reaching_again_keeps_the_first_date() -> None:
    result = progress([ev("registered"), ev("bank_account", days=3), ev("bank_account", days=9)])
    assert result.reached_at == T0 + timedelta(days=3)


def test_verification_counts_only_for_a_standing_claim() -> None:
    result = progress([ev("registered"), ev("identity", days=1), ev("identity", "verified", days=2)])
    assert result.verified == {"identity"}
    regressed = progress(
        [ev("identity", days=1), ev("identity", "verified", 2), ev("identity", "regressed", 3)]
    )
    assert regressed.verified == frozenset()
    premature = progress([ev("identity", "verified", days=1)])
    assert premature.verified == frozenset()


@pytest.mark.parametrize(
    ("claim", "fields"),
    [
        (Claim(stage="identity", occurred_at=T0), {"note"}),
        (Claim(stage="identity", occurred_at=T0, note="Đã xem VNeID mức 2 trên máy"), set()),
        (Claim(stage="digital_ops", occurred_at=T0, note="ok"), {"note"}),
        (Claim(stage="ecommerce", occurred_at=T0, link="shopee"), {"link"}),
        (Claim(stage="ecommerce", occurred_at=T0, link="https://shopee.vn/banhmi_co_ba"), set()),
        (Claim(stage="registered", occurred_at=T0), {"stage"}),
    ],
)
def test_manual_claims_need_their_evidence(claim: Claim, fields: set[str]) -> None:
    assert {field for field, _ in check_claim(claim, qr_issued_at=T0)} == fields


def test_qr_active_needs_a_visit_a_week_after_the_qr_with_customer_payments() -> None:
    issued = T0
    too_soon = Claim(stage="qr_active", occurred_at=T0, visit_on=date(2026, 3, 5), customer_payments_7d=3)
    assert [f for f, _ in check_claim(too_soon, qr_issued_at=issued)] == ["visit_on"]
    no_payments = Claim(stage="qr_active", occurred_at=T0, visit_on=date(2026, 3, 8), customer_payments_7d=0)
    assert [f for f, _ in check_claim(no_payments, qr_issued_at=issued)] == ["customer_payments_7d"]
    good = Claim(stage="qr_active", occurred_at=T0, visit_on=date(2026, 3, 8), customer_payments_7d=4)
    assert check_claim(good, qr_issued_at=issued) == []
    assert [f for f, _ in check_claim(good, qr_issued_at=None)] == ["stage"]


def test_installed_but_not_using_after_thirty_days_without_use() -> None:
    held = ["registered", "qr_issued"]
    assert installed_not_using(qr_issued_at=T0, held=held, now=T0 + timedelta(days=30))
    assert not installed_not_using(qr_issued_at=T0, held=held, now=T0 + timedelta(days=29))
    assert not installed_not_using(qr_issued_at=T0, held=[*held, "qr_active"], now=T0 + timedelta(days=90))


def test_ages_are_counted_in_vietnamese_calendar_days() -> None:
    # 23:30 in Vietnam on 1 March; 29 days and one hour later it is 31 March, 00:30: thirty
    # calendar days, as a volunteer counting on a calendar (and the reports, kept by day) says.
    issued = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    held = ["registered", "qr_issued"]
    assert installed_not_using(qr_issued_at=issued, held=held, now=issued + timedelta(days=29, hours=1))
    assert not installed_not_using(
        qr_issued_at=issued, held=held, now=issued + timedelta(days=29, minutes=29)
    )
    # Whatever happened before 1 March, 00:00 in Vietnam is a day old or more on 1 March.
    assert days_ago(issued, timedelta(days=1)) == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)


def test_stalled_after_sixty_days_at_one_stage() -> None:
    assert stalled(stage="bank_account", reached_at=T0, now=T0 + timedelta(days=60))
    assert not stalled(stage="bank_account", reached_at=T0, now=T0 + timedelta(days=59))
    assert not stalled(stage="digital_ops", reached_at=T0, now=T0 + timedelta(days=400))


def test_every_stage_names_its_evidence() -> None:
    assert BY_CODE["qr_active"].evidence == "visit"
    assert BY_CODE["ecommerce"].evidence == "link"
    assert all(s.name and s.criteria for s in STAGES)


def test_only_volunteer_stages_can_be_claimed_by_hand() -> None:
    assert {s.code for s in STAGES if not s.claimable} == {"registered", "listed"}
    assert [f for f, _ in check_claim(Claim(stage="listed", occurred_at=T0), qr_issued_at=T0)] == ["stage"]


def test_progress_keeps_the_event_that_began_each_hold() -> None:
    first = ev("identity", days=1)
    result = progress([ev("registered"), first, ev("identity", days=3)])
    assert result.holds["identity"] is first
    assert result.reached["identity"] == first.occurred_at


def test_one_hold_one_reached_event() -> None:
    log = [ev("registered"), ev("qr_active", days=10)]
    assert redundant(log, stage="qr_active", at=T0 + timedelta(days=12))  # held then
    assert redundant(log, stage="qr_active", at=T0 + timedelta(days=9))  # the next thing is a reach
    stopped = [*log, ev("qr_active", "regressed", 20)]
    assert not redundant(stopped, stage="qr_active", at=T0 + timedelta(days=25))  # a new hold
    assert redundant(stopped, stage="qr_active", at=T0 + timedelta(days=15))
    assert not redundant(log, stage="identity", at=T0)


def test_one_gap_one_regression() -> None:
    log = [ev("qr_active", days=10), ev("qr_active", "regressed", 20)]
    assert redundant(log, stage="qr_active", at=T0 + timedelta(days=22), kind="regressed")
    assert redundant(log, stage="qr_active", at=T0 + timedelta(days=15), kind="regressed")
    back = [*log, ev("qr_active", days=30)]
    assert not redundant(back, stage="qr_active", at=T0 + timedelta(days=31), kind="regressed")


def test_changes_need_a_stage_reached_by_then_and_a_reason() -> None:
    log = [ev("registered"), ev("identity", days=1), ev("bank_account", days=2, source="automatic")]
    at = T0 + timedelta(days=3)

    def fields(kind: str, stage: str, note: str | None = None, when=at) -> list[str]:
        return [f for f, _ in check_change(kind=kind, stage=stage, occurred_at=when, events=log, note=note)]

    assert fields("regressed", "identity", "Quên mật khẩu") == []
    assert fields("regressed", "identity") == ["note"]
    assert fields("regressed", "qr_active", "Không dùng") == ["stage"]
    assert fields("regressed", "identity", "Quên mật khẩu", when=T0) == ["stage"]  # before it was reached
    assert fields("regressed", "registered", "Không dùng") == ["stage"]
    assert fields("verified", "identity") == []
    assert fields("verified", "bank_account") == ["stage"]  # automatic: nothing to verify
    assert fields("rejected", "identity") == ["note"]
    assert fields("rejected", "identity", "Không thấy VNeID trên máy") == []


def test_reviews_follow_each_claim() -> None:
    claim = ev("identity", days=1)
    other = ev("ecommerce", days=1)
    again = ev("identity", days=10)
    log = [
        ev("registered", source="automatic"),
        claim,
        ev("identity", "verified", 2, source="review"),
        other,
        ev("ecommerce", "regressed", 3, source="review"),
        ev("identity", "regressed", 5),
        again,
    ]
    assert reviews(log) == {claim.ref: "verified", other.ref: "rejected", again.ref: "self_reported"}
