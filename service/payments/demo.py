"""Demo payment accounts: most demo traders can show a QR and print a poster right after `make run`.

Positions are those of `service.demo.MERCHANTS`; the banks match the onboarding demo's story
(O Nga opened an Agribank account, Thiên Hương has Vietcombank, Chi Lăng BIDV, Chè Hẻm a MoMo
wallet). Left without an account on purpose: Nón bài thơ (2), Bánh lọc Bà Tư (3), Phở gánh (11),
Sửa xe Cửa Nam (14) and Cà phê muối Đông Ba (15), so the tablet flow and a market's "skipped"
list have someone to show.
"""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.merchants.models import Merchant
from service.payments.models import PaymentAccount
from service.payments.validation import holder_name

# position -> [(bank BIN, service, account number)], the first one primary
ACCOUNTS: dict[int, list[tuple[str, str, str]]] = {
    0: [("970405", "account", "4000205123456")],  # Agribank
    1: [("970436", "account", "0011004455667"), ("970436", "card", "9704366612345678")],  # Vietcombank
    4: [("970418", "account", "56010000123456")],  # BIDV
    5: [("970454", "account", "99MM24011M34875080")],  # MoMo wallet, routed through BVBank
    6: [("970415", "account", "108870123456")],  # VietinBank
    7: [("970422", "account", "0901234567890")],  # MB Bank
    8: [("970407", "account", "19036512345018")],  # Techcombank
    9: [("970416", "account", "24681357")],  # ACB
    10: [("970432", "account", "168899990000")],  # VPBank
    12: [("970403", "account", "060123456789")],  # Sacombank
    13: [("970405", "account", "1500201098765")],  # Agribank
}


def demo_account_id(position: int, n: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-payment-account-{position}-{n}")


async def seed_demo_payment_accounts(session: AsyncSession, *, at: datetime) -> int:
    """Insert the accounts as rows (the same ids every seed); no audit, no stage events."""
    count = 0
    for position, accounts in ACCOUNTS.items():
        merchant_id = uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-merchant-{position}")
        merchant = await session.scalar(select(Merchant).where(Merchant.id == merchant_id))
        if merchant is None:
            continue
        for n, (bank_bin, service, account) in enumerate(accounts):
            session.add(
                PaymentAccount(
                    id=demo_account_id(position, n),
                    merchant_id=merchant.id,
                    province_code=merchant.province_code,
                    bank_bin=bank_bin,
                    service=service,
                    account=account,
                    holder_name=holder_name(merchant.owner_name),
                    is_primary=n == 0,
                    created_at=at,
                    created_by_id=merchant.created_by_id,
                    updated_at=at,
                )
            )
            count += 1
    await session.flush()
    return count
