"""What the onboarding log records when something happens to a trader in another area (announced
through `merchants.events`, in the same transaction): the automatic stages follow the facts."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.merchants import events
from service.onboarding.services import OnboardingService
from service.payments.models import PaymentAccount
from service.storefronts.models import Storefront

IMPORT_CHUNK = 5_000  # ids per statement: PostgreSQL binds at most 32,767 values
# Without a way to receive transfers, a printed QR code and its use are gone too.
NEEDS_AN_ACCOUNT = ("bank_account", "qr_issued", "qr_active")


@events.reacts_to("registered", order=10)
async def registered(session: AsyncSession, event: events.TraderEvent) -> None:
    (merchant_id,) = event.merchant_ids
    await OnboardingService(session).record_automatic(
        merchant_id=merchant_id, stage="registered", at=event.at, by=event.by
    )


@events.reacts_to("imported", order=10)
async def imported(session: AsyncSession, event: events.TraderEvent) -> None:
    onboarding = OnboardingService(session)
    ids = event.merchant_ids
    for start in range(0, len(ids), IMPORT_CHUNK):
        await onboarding.record_registered(merchant_ids=ids[start : start + IMPORT_CHUNK], by=event.by)


@events.reacts_to("merged", order=10)
async def merged(session: AsyncSession, event: events.TraderEvent) -> None:
    """The duplicate's events and visits now belong to the survivor: its stage follows from them.
    Two logs replayed together can contradict the facts (the survivor's last account removed ends
    the hold that the duplicate's account began), so the automatic stages are then checked against
    what the survivor has now: a live payment account, a published storefront."""
    survivor = event.detail["survivor"]
    onboarding = OnboardingService(session)
    progress = await onboarding.recompute(merchant_id=survivor)
    has_account = await session.scalar(
        select(PaymentAccount.id)
        .where(PaymentAccount.merchant_id == survivor, PaymentAccount.removed_at.is_(None))
        .limit(1)
    )
    published = await session.scalar(
        select(Storefront.id).where(Storefront.merchant_id == survivor, Storefront.published).limit(1)
    )
    if has_account is not None and "bank_account" not in progress.reached:
        await onboarding.record_automatic(
            merchant_id=survivor, stage="bank_account", at=event.at, by=event.by
        )
    if published is not None and "listed" not in progress.reached:
        await onboarding.record_automatic(merchant_id=survivor, stage="listed", at=event.at, by=event.by)
    elif published is None and "listed" in progress.reached:
        await onboarding.regress_automatic(merchant_id=survivor, codes=("listed",), at=event.at, by=event.by)


@events.reacts_to("payment_account_added", order=10)
async def payment_account_added(session: AsyncSession, event: events.TraderEvent) -> None:
    (merchant_id,) = event.merchant_ids
    await OnboardingService(session).record_automatic(
        merchant_id=merchant_id,
        stage="bank_account",
        at=event.at,
        by=event.by,
        source_id=event.detail["account_id"],
    )


@events.reacts_to("payment_account_removed", order=10)
async def payment_account_removed(session: AsyncSession, event: events.TraderEvent) -> None:
    if event.detail["remaining"]:
        return
    (merchant_id,) = event.merchant_ids
    await OnboardingService(session).regress_automatic(
        merchant_id=merchant_id, codes=NEEDS_AN_ACCOUNT, at=event.at, by=event.by
    )


@events.reacts_to("poster_printed", order=10)
async def poster_printed(session: AsyncSession, event: events.TraderEvent) -> None:
    (merchant_id,) = event.merchant_ids
    await OnboardingService(session).record_automatic(
        merchant_id=merchant_id, stage="qr_issued", at=event.at, by=event.by
    )


@events.reacts_to("storefront_published", order=10)
async def storefront_published(session: AsyncSession, event: events.TraderEvent) -> None:
    """Each publication may begin a new hold of `listed` (after an unpublication), so it is its own
    event; publishing a storefront that is already listed adds nothing (`record_automatic`)."""
    (merchant_id,) = event.merchant_ids
    await OnboardingService(session).record_automatic(
        merchant_id=merchant_id, stage="listed", at=event.at, by=event.by
    )


@events.reacts_to("storefront_unpublished", order=10)
async def storefront_unpublished(session: AsyncSession, event: events.TraderEvent) -> None:
    (merchant_id,) = event.merchant_ids
    await OnboardingService(session).regress_automatic(
        merchant_id=merchant_id, codes=("listed",), at=event.at, by=event.by
    )
