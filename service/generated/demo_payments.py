"""Demo payment accounts: most demo traders can show a QR and print a poster right after `make run`.

Positions are those of `service.generated.demo.MERCHANTS`; the banks and days match the onboarding demo's
story (O Nga opened an Agribank account, Thiên Hương has Vietcombank, Chi Lăng BIDV, Chè Hẻm a MoMo
wallet). Left without an account on purpose: Nón bài thơ (2), Bánh lọc Bà Tư (3), Phở gánh (11),
Sửa xe Cửa Nam (14) and Cà phê muối Đông Ba (15), so the tablet flow and a market's "skipped"
list have someone to show. Accounts are saved through `PaymentService.add`, so each trader holds
`bank_account` from the day its first account was saved, as in real use.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import User
from service.accounts.services import AccountService
from service.merchants.models import Merchant
from service.payments.services import PaymentService

# position -> (days before the seed, who saved them (None: the team leader who registered the
# trader), [(bank BIN, service, account number)], the first one primary)
ACCOUNTS: dict[int, tuple[int, str | None, list[tuple[str, str, str]]]] = {
    0: (95, "demo-volunteer", [("970405", "account", "4000205123456")]),  # Agribank
    1: (
        84,
        "demo-volunteer",
        [("970436", "account", "0011004455667"), ("970436", "card", "9704366612345678")],
    ),  # Vietcombank
    4: (118, "demo-volunteer", [("970418", "account", "56010000123456")]),  # BIDV
    5: (58, "tnv-1-2", [("970454", "account", "99MM24011M34875080")]),  # MoMo wallet, routed through BVBank
    6: (24, None, [("970415", "account", "108870123456")]),  # VietinBank
    7: (25, None, [("970422", "account", "0901234567890")]),  # MB Bank
    8: (26, None, [("970407", "account", "19036512345018")]),  # Techcombank
    9: (27, None, [("970416", "account", "24681357")]),  # ACB
    10: (28, None, [("970432", "account", "168899990000")]),  # VPBank
    12: (30, None, [("970403", "account", "060123456789")]),  # Sacombank
    13: (31, None, [("970405", "account", "1500201098765")]),  # Agribank
}


def demo_account_id(position: int, n: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-payment-account-{position}-{n}")


async def seed_demo_payment_accounts(session: AsyncSession, *, at: datetime) -> int:
    """Save the accounts through the payments service (the same ids every seed), on their day."""
    payments = PaymentService(session)
    accounts_of_users = AccountService(session)
    count = 0
    for position, (days, username, accounts) in ACCOUNTS.items():
        merchant_id = uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-merchant-{position}")
        merchant = await session.scalar(select(Merchant).where(Merchant.id == merchant_id))
        if merchant is None:
            continue
        user_id = merchant.created_by_id
        if username is not None:
            user_id = await session.scalar(select(User.id).where(User.username == username))
        by = await accounts_of_users.current_user(user_id=user_id) if user_id else None
        assert by is not None, f"no demo user to save the accounts of trader {position}"
        for n, (bank_bin, service, account) in enumerate(accounts):
            await payments.add(
                by=by,
                merchant_id=merchant.id,
                values={"bank_bin": bank_bin, "service": service, "account": account, "is_primary": n == 0},
                at=at - timedelta(days=days, minutes=-n),
                account_id=demo_account_id(position, n),
            )
            count += 1
    return count
