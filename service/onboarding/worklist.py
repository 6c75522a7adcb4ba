"""The volunteer's worklist, as rules: why a merchant needs a visit, what moves it forward, and who
of the team takes it. Pure: the database side (services) selects the merchants; this decides.

Fair assignment, deterministic and stable:
1. a merchant belongs to the volunteer who visited it last, if still an active volunteer of its team
   (the trader knows them);
2. else to the volunteer who registered it, on the same condition;
3. else it is dealt by rendezvous hashing over the team's active volunteers: each volunteer scores
   sha256(merchant id + volunteer id) and the highest score takes it. Every volunteer gets about the
   same share, the answer never depends on the other merchants in the list, and when a volunteer
   joins or leaves only their own share moves.
"""

import hashlib
import uuid
from collections.abc import Sequence
from typing import Literal

import msgspec

from service.i18n import N_
from service.onboarding.stages import BY_CODE, STAGES

Reason = Literal["follow_up", "stopped_using", "installed_not_using", "no_payment_account", "stalled"]
# In the order a volunteer should take them: promised visits first, then traders who may have
# stopped using their QR (the trader said no customer paid by QR two weeks running: a user about to
# be lost, sooner won back than a new one won), then the unused QR codes (the goal is use, not
# installs), then money, then whatever has stood still.
REASONS: dict[str, str] = {
    "follow_up": N_("Hẹn thăm lại đến hạn"),
    "stopped_using": N_("Có thể đã ngừng dùng QR"),
    "installed_not_using": N_("Đã có QR nhưng chưa dùng"),
    "no_payment_account": N_("Chưa có tài khoản nhận tiền"),
    "stalled": N_("Đứng yên một giai đoạn từ 60 ngày"),
}
# "Without a payment account", until the payments area stores accounts: the current stage is below
# bank_account and bank_account was never reached. The payments issue replaces this with "has no
# payment account row" (see OverviewService.worklist).
BELOW_BANK_ACCOUNT = tuple(s.code for s in STAGES if s.order < BY_CODE["bank_account"].order)


class Action(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["visit", "stage"]
    stage: str | None = None  # the stage form to open, for kind "stage"


VISIT = Action(kind="visit")


def next_claimable(current: str) -> str | None:
    """The first stage above `current` that a volunteer can record."""
    order = BY_CODE[current].order
    return next((s.code for s in STAGES if s.order > order and s.claimable), None)


def actions(reason: str, *, current_stage: str) -> tuple[Action, ...]:
    """What moves the item forward, the main action first."""
    if reason == "installed_not_using":
        return (Action(kind="stage", stage="qr_active"), VISIT)
    if reason == "no_payment_account":
        return (Action(kind="stage", stage="bank_account"), VISIT)
    if reason == "stopped_using":
        return (VISIT,)  # find out why; a stage moves only when the volunteer has seen it
    following = next_claimable(current_stage)
    return (VISIT, Action(kind="stage", stage=following)) if following else (VISIT,)


def primary_reason(reasons: Sequence[str]) -> str:
    return min(reasons, key=list(REASONS).index)


def assignee(
    *,
    merchant_id: uuid.UUID,
    last_visitor: uuid.UUID | None,
    registered_by: uuid.UUID | None,
    volunteers: Sequence[uuid.UUID],
) -> uuid.UUID | None:
    """Who of the team's active volunteers takes this merchant; None when the team has none (then
    the item is the leader's)."""
    if last_visitor is not None and last_visitor in volunteers:
        return last_visitor
    if registered_by is not None and registered_by in volunteers:
        return registered_by
    if not volunteers:
        return None
    return max(volunteers, key=lambda v: hashlib.sha256(merchant_id.bytes + v.bytes).digest())
