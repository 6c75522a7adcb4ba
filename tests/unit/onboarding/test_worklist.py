import uuid
from collections import Counter
from datetime import UTC, date, datetime

from service.onboarding.stages import local_date
from service.onboarding.worklist import (
    BELOW_BANK_ACCOUNT,
    REASONS,
    Action,
    actions,
    assignee,
    next_claimable,
    primary_reason,
)

TEAM = [uuid.UUID(int=n) for n in (11, 22, 33)]
MERCHANTS = [uuid.uuid5(uuid.NAMESPACE_URL, f"merchant-{n}") for n in range(600)]


def share(volunteers: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
    return {
        m: assignee(merchant_id=m, last_visitor=None, registered_by=None, volunteers=volunteers)
        for m in MERCHANTS
    }


def test_the_volunteer_who_knows_the_trader_keeps_it() -> None:
    m = MERCHANTS[0]
    assert assignee(merchant_id=m, last_visitor=TEAM[2], registered_by=TEAM[0], volunteers=TEAM) == TEAM[2]
    assert assignee(merchant_id=m, last_visitor=None, registered_by=TEAM[0], volunteers=TEAM) == TEAM[0]
    # Someone who left the team (or a leader, who is not among the volunteers) does not keep it.
    gone = uuid.UUID(int=99)
    assert assignee(merchant_id=m, last_visitor=gone, registered_by=gone, volunteers=TEAM) in TEAM
    assert assignee(merchant_id=m, last_visitor=None, registered_by=None, volunteers=[]) is None


def test_unassigned_merchants_are_shared_about_equally_and_deterministically() -> None:
    first = share(TEAM)
    assert first == share(list(reversed(TEAM)))  # order of the team list does not matter
    counts = Counter(first.values())
    assert set(counts) == set(TEAM)
    assert all(abs(n - len(MERCHANTS) / 3) < len(MERCHANTS) * 0.1 for n in counts.values()), counts


def test_when_a_volunteer_leaves_only_their_share_moves() -> None:
    before = share(TEAM)
    after = share(TEAM[:2])
    moved = {m for m in MERCHANTS if before[m] != after[m]}
    assert moved == {m for m in MERCHANTS if before[m] == TEAM[2]}


def test_each_reason_links_to_what_moves_it_forward() -> None:
    assert actions("follow_up", current_stage="identity") == (
        Action(kind="visit"),
        Action(kind="stage", stage="bank_account"),
    )
    assert actions("installed_not_using", current_stage="qr_issued")[0] == Action(
        kind="stage", stage="qr_active"
    )
    assert actions("no_payment_account", current_stage="registered")[0] == Action(
        kind="stage", stage="bank_account"
    )
    assert actions("stalled", current_stage="digital_ops") == (Action(kind="visit"),)
    assert actions("stopped_using", current_stage="qr_active") == (Action(kind="visit"),)
    assert next_claimable("qr_active") == "ecommerce"  # "listed" comes from publishing, not a claim


def test_promised_visits_come_first() -> None:
    assert list(REASONS) == [
        "follow_up",
        "stopped_using",
        "installed_not_using",
        "no_payment_account",
        "stalled",
    ]
    assert primary_reason(["stalled", "no_payment_account"]) == "no_payment_account"
    assert primary_reason(["stalled", "follow_up"]) == "follow_up"
    assert primary_reason(["installed_not_using", "stopped_using"]) == "stopped_using"
    assert BELOW_BANK_ACCOUNT == ("registered", "identity")


def test_today_is_vietnams_date() -> None:
    assert local_date(datetime(2026, 3, 1, 17, 30, tzinfo=UTC)) == date(2026, 3, 2)
    assert local_date(datetime(2026, 3, 1, 16, 59, tzinfo=UTC)) == date(2026, 3, 1)
