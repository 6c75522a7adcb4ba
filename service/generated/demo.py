"""Demo data: two provinces, six communes, villages, teams, volunteers and officers, in Vietnamese.

Every demo login uses the password `demo-password`.

Places, teams and people are inserted as rows (the reference data of the story); everything that
happens to a trader goes through the services the pages and tablets use, on the day it happened in
the story: registration, payment accounts, visits, stage claims and reviews, posters, storefront
publication, and the officers' targets. So the stage log, the held stages and the report counters
follow the facts as they do in real use: every published storefront's trader holds `listed`, every
trader with a payment account holds `bank_account`, every trader with a printed poster holds
`qr_issued`, and the counters equal a rebuild from the raw tables.
"""

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Team, User, team_villages
from service.accounts.passwords import hash_password
from service.accounts.schemas import CurrentUser
from service.accounts.services import AccountService
from service.generated.demo_payments import seed_demo_payment_accounts
from service.generated.demo_storefronts import seed_demo_storefronts
from service.onboarding.models import StageEvent
from service.onboarding.stages import local_date
from service.payments.checkins import CheckinService
from service.places.models import Commune, Village
from service.text import fold

DEMO_PASSWORD = "demo-password"

# commune code -> villages, teams (name, villages covered, volunteers)
COMMUNES = {
    "19753": (
        ["Tổ dân phố Đông Ba", "Tổ dân phố Gia Hội"],
        [("Tổ công nghệ số chợ Đông Ba", 0, 6), ("Tổ công nghệ số Gia Hội", 1, 3)],
    ),
    "19774": (["Tổ dân phố Kim Long", "Tổ dân phố Phú Mộng"], [("Tổ công nghệ số Kim Long", 0, 4)]),
    "19777": (["Tổ dân phố Vỹ Dạ 1", "Tổ dân phố Vỹ Dạ 2"], [("Tổ công nghệ số Vỹ Dạ", 0, 3)]),
    "19789": (["Tổ dân phố Phú Hội", "Tổ dân phố Vĩnh Ninh"], [("Tổ công nghệ số chợ Bến Ngự", 1, 4)]),
    "00070": (
        ["Tổ dân phố Hàng Bạc", "Tổ dân phố Hàng Đào"],
        [("Tổ công nghệ số chợ Đồng Xuân", 1, 4), ("Tổ công nghệ số Hàng Bạc", 0, 3)],
    ),
    "00082": (["Tổ dân phố Hàng Bông", "Tổ dân phố Cửa Nam"], [("Tổ công nghệ số chợ Cửa Nam", 1, 3)]),
}

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Đức", "Hữu", "Bảo"]
GIVEN = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hạnh",
    "Hiếu",
    "Hoà",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Ngân",
    "Nhung",
    "Phúc",
    "Quân",
    "Quỳnh",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thư",
    "Trang",
    "Trí",
    "Tú",
    "Uyên",
    "Việt",
    "Vy",
    "Yến",
]


def _name(i: int) -> str:
    return f"{FAMILY[i % len(FAMILY)]} {MIDDLE[(i * 3) % len(MIDDLE)]} {GIVEN[(i * 7) % len(GIVEN)]}"


async def has_users(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(User)))


async def seed_demo(session: AsyncSession, *, at: datetime, media_dir: Path | None = None) -> dict[str, int]:
    """Insert the demo data set. Refuses to run twice (usernames are unique). Demo product photos
    are written to `media_dir` when given."""
    # One hash for every demo account: they share a password, and 40 argon2 hashes would take seconds.
    password_hash = await hash_password(DEMO_PASSWORD)
    counts = {"villages": 0, "teams": 0, "volunteers": 0, "officers": 0}
    person = 0

    def user(username: str, role: str, **fields: object) -> User:
        nonlocal person
        person += 1
        row = User(
            id=uuid.uuid4(),
            username=username,
            password_hash=password_hash,
            full_name=fields.pop("full_name", None) or _name(person),
            role=role,
            locale="vi",
            active=True,
            created_at=at,
            phone=f"+8490{1000000 + person * 7919 % 8999999:07d}",
            **fields,
        )
        session.add(row)
        return row

    first_team_of: dict[str, Team] = {}
    leaders: list[tuple[Team, User]] = []
    for commune_code, (village_names, teams) in COMMUNES.items():
        commune = await session.get(Commune, commune_code)
        assert commune is not None, f"commune {commune_code} missing from the reference data"
        villages = []
        for name in village_names:
            village = Village(
                id=uuid.uuid4(),
                province_code=commune.province_code,
                commune_code=commune_code,
                name=name,
                name_fold=fold(name),
                kind="to_dan_pho",
                created_at=at,
            )
            session.add(village)
            villages.append(village)
            counts["villages"] += 1
        for team_name, village_index, volunteers in teams:
            team = Team(
                id=uuid.uuid4(),
                name=team_name,
                province_code=commune.province_code,
                commune_code=commune_code,
                active=True,
                created_at=at,
            )
            session.add(team)
            await session.flush()
            await session.execute(
                team_villages.insert().values(team_id=team.id, village_id=villages[village_index].id)
            )
            first_team_of.setdefault(commune_code, team)
            counts["teams"] += 1
            is_main = team_name == "Tổ công nghệ số chợ Đông Ba"
            leader = user(
                "demo-leader" if is_main else f"totruong-{counts['teams']}",
                "team_leader",
                team_id=team.id,
                province_code=team.province_code,
                commune_code=commune_code,
            )
            await session.flush()  # the leader row must exist before the team points at it
            team.leader_id = leader.id
            leaders.append((team, leader))
            for n in range(volunteers):
                if is_main and n == 0:
                    username = "demo-volunteer"
                elif commune_code == "19774" and n == 0:
                    username = "demo-volunteer-b"
                else:
                    username = f"tnv-{counts['teams']}-{n + 1}"
                user(
                    username,
                    "volunteer",
                    team_id=team.id,
                    province_code=team.province_code,
                    commune_code=commune_code,
                )
                counts["volunteers"] += 1
    officers = [
        ("demo-admin", "admin", {"full_name": "Quản trị hệ thống"}),
        ("demo-province", "province_officer", {"province_code": "46"}),
        ("demo-commune", "commune_officer", {"province_code": "46", "commune_code": "19753"}),
        ("canbo-hanoi", "province_officer", {"province_code": "01"}),
        ("canbo-hoankiem", "commune_officer", {"province_code": "01", "commune_code": "00070"}),
        ("canbo-kimlong", "commune_officer", {"province_code": "46", "commune_code": "19774"}),
    ]
    for username, role, fields in officers:
        user(username, role, **fields)
        counts["officers"] += 1
    await session.flush()
    counts["merchants"] = await seed_demo_merchants(session, leaders=leaders, at=at)
    counts["payment accounts"] = await seed_demo_payment_accounts(session, at=at)
    counts["visits"] = await seed_demo_onboarding(session, at=at)
    counts["storefronts"] = await seed_demo_storefronts(session, at=at, media_dir=media_dir)
    counts["stage events"] = await session.scalar(select(func.count()).select_from(StageEvent)) or 0
    counts["targets"] = await seed_demo_targets(session, at=at)
    return counts


async def demo_user(session: AsyncSession, username: str) -> CurrentUser:
    """A demo account as the services see a signed-in user."""
    user_id = await session.scalar(select(User.id).where(User.username == username))
    user = await AccountService(session).current_user(user_id=user_id) if user_id else None
    assert user is not None, f"demo user {username} missing"
    return user


# business name, owner, kind, category, market, stall (index into the team list cycles the teams)
MERCHANTS = [
    ("Bún hến Đông Ba O Nga", "Trần Thị Nga", "market_stall", "food_drink", "Chợ Đông Ba", "A-07"),
    ("Mè xửng Thiên Hương", "Nguyễn Thị Hương", "market_stall", "crafts_ocop", "Chợ Đông Ba", "B-03"),
    ("Nón bài thơ Xuân Hòa", "Lê Thị Xuân", "household_business", "crafts_ocop", None, None),
    ("Bánh lọc Bà Tư", "Ngô Thị Tư", "street_vendor", "food_drink", None, None),
    ("Tạp hóa Chi Lăng", "Phạm Văn Lộc", "household_business", "groceries", None, None),
    ("Chè Hẻm Hùng Vương", "Đặng Thị Thu", "household_business", "food_drink", None, None),
    ("Rau sạch Kim Long", "Hoàng Văn Sơn", "market_stall", "fresh_produce", "Chợ Kim Long", "C-07"),
    ("Áo dài Vỹ Dạ", "Võ Thị Uyên", "household_business", "clothing_textiles", None, None),
    ("Bánh bèo Bà Đỏ", "Bùi Thị Đỏ", "street_vendor", "food_drink", "Chợ Bến Ngự", None),
    ("Đồ gia dụng Bến Ngự", "Huỳnh Minh Trí", "market_stall", "household_goods", "Chợ Bến Ngự", "D-15"),
    ("Lụa Hàng Đào", "Đỗ Thị Lan", "micro_enterprise", "clothing_textiles", "Chợ Đồng Xuân", "Tầng 2-18"),
    ("Phở gánh Hàng Chiếu", "Dương Văn Nam", "street_vendor", "food_drink", None, None),
    ("Bạc Hàng Bạc Quốc Việt", "Hồ Quốc Việt", "household_business", "crafts_ocop", None, None),
    ("HTX rau an toàn Cửa Nam", "Phan Thị Ngân", "cooperative", "fresh_produce", "Chợ Cửa Nam", None),
    ("Sửa xe Cửa Nam", "Trần Hữu Phúc", "household_business", "services", None, None),
    ("Cà phê muối Đông Ba", "Lê Minh Khánh", "street_vendor", "food_drink", "Chợ Đông Ba", None),
]


# Traders at positions divisible by 3 agreed only to be contacted, except these, who also agreed
# to a public storefront (service/storefronts/demo.py publishes one for them).
WITH_STOREFRONT = (0, 6, 9, 12)
# Days before the seed that each demo trader registered (by position in MERCHANTS); the rest: 20+i.
REGISTERED_DAYS_AGO = {0: 100, 1: 90, 2: 80, 3: 30, 4: 120, 5: 60, 15: 5}


def registered_days_ago(position: int) -> int:
    return REGISTERED_DAYS_AGO.get(position, 20 + position)


async def seed_demo_merchants(
    session: AsyncSession, *, leaders: list[tuple[Team, User]], at: datetime
) -> int:
    """A few traders per team, registered by their team leader through the registration service on
    the day the story says. Ids and phones are derived from the position, so every seed gives the
    same records."""
    from service.merchants.services import MerchantService

    # Teams in seed order (0 Đông Ba, 1 Gia Hội, 2 Kim Long, 3 Vỹ Dạ, 4 Bến Ngự, 5 Đồng Xuân,
    # 6 Hàng Bạc, 7 Cửa Nam); a merchant belongs to the team of its market, else to Đông Ba.
    team_of = {
        "Chợ Kim Long": 2,
        "Chợ Bến Ngự": 4,
        "Chợ Đồng Xuân": 5,
        "Chợ Cửa Nam": 7,
    }
    # Gia Hội (1) is left empty on purpose: the tests register into a team with no demo traders.
    by_name = {
        "Áo dài Vỹ Dạ": 3,
        "Phở gánh Hàng Chiếu": 5,
        "Bạc Hàng Bạc Quốc Việt": 6,
        "Sửa xe Cửa Nam": 7,
    }
    # Each demo team covers one village; its traders live there, so dashboards drill down to it.
    village_of = dict(
        (await session.execute(select(team_villages.c.team_id, team_villages.c.village_id))).all()
    )
    merchants = MerchantService(session)
    # In the order they registered, so that the audit trail and the counters read like the story.
    order = sorted(range(len(MERCHANTS)), key=lambda i: (-registered_days_ago(i), i))
    for i in order:
        name, owner, kind, category, market, stall = MERCHANTS[i]
        team, leader = leaders[by_name.get(name, team_of.get(market or "", 0))]
        await merchants.register(
            by=await demo_user(session, leader.username),
            values={
                "kind": kind,
                "business_name": name,
                "category": category,
                "owner_name": owner,
                "owner_phone": f"+8490{5100000 + i * 7919:07d}",
                "commune_code": team.commune_code,
                "village_id": village_of.get(team.id),
                "market": market,
                "stall": stall,
                "team_id": team.id,
                "consent_purposes": ["storefront", "contact", "statistics"]
                if i % 3 or i in WITH_STOREFRONT
                else ["contact"],
            },
            at=at - timedelta(days=registered_days_ago(i)),
            merchant_id=demo_merchant_id(i),
        )
    return len(MERCHANTS)


def demo_merchant_id(position: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-merchant-{position}")


async def seed_demo_onboarding(session: AsyncSession, *, at: datetime) -> int:
    """A few months of work for the Đông Ba team, through the services the tablets use: QR codes
    in use (one verified), one trader with a QR code but no use yet and a visit due today, one
    overdue follow-up, one trader who stopped using QR, claims waiting for the leader. The payment
    accounts are already there (payments/demo.py, on the days below); posters are printed here.
    Returns the number of visits."""
    from service.onboarding.schemas import StageEventIn, VisitIn
    from service.onboarding.services import OnboardingService
    from service.payments.printing import PosterService

    onboarding = OnboardingService(session)
    posters = PosterService(session)
    volunteer = await demo_user(session, "demo-volunteer")
    second = await demo_user(session, "tnv-1-2")
    leader = await demo_user(session, "demo-leader")

    def ago(days: int) -> datetime:
        return at - timedelta(days=days)

    async def stage(who, i: int, code: str, days: int, kind: str = "reached", **evidence) -> None:
        data = StageEventIn(
            client_event_id=f"demo-{i}-{code}-{kind}-{days}",
            occurred_at=ago(days),
            stage=code,  # type: ignore[arg-type]
            kind=kind,  # type: ignore[arg-type]
            **evidence,
        )
        await onboarding.record_stage(by=who, merchant_id=demo_merchant_id(i), data=data, at=ago(days))

    async def poster(who, i: int, days: int) -> None:
        """A stall poster printed: the system records `qr_issued` with it."""
        await posters.print_poster(by=who, merchant_id=demo_merchant_id(i), at=ago(days))

    visits = 0

    async def visit(
        who, i: int, days: int, topics: list[str], outcome: str, note: str, follow_up=None
    ) -> None:
        nonlocal visits
        data = VisitIn(
            client_event_id=f"demo-visit-{i}-{days}",
            occurred_at=ago(days),
            minutes=30,
            topics=topics,  # type: ignore[arg-type]
            outcome=outcome,  # type: ignore[arg-type]
            note=note,
            next_follow_up=follow_up,
        )
        await onboarding.record_visit(by=who, merchant_id=demo_merchant_id(i), data=data, at=ago(days))
        visits += 1

    today = local_date(at)
    # Tạp hóa Chi Lăng: far along; the e-commerce claim waits for the leader. Its BIDV account was
    # saved 118 days ago; its storefront is published 60 days ago (storefronts/demo.py).
    await poster(volunteer, 4, 110)
    await stage(volunteer, 4, "qr_active", 100, visit_on=local_date(ago(100)), customer_payments_7d=20)
    await stage(leader, 4, "qr_active", 99, kind="verified")
    await stage(volunteer, 4, "ecommerce", 40, link="https://shopee.vn/taphoachilang")
    # Bún hến O Nga: QR in regular use, verified by the leader (Agribank account saved 95 days ago).
    await visit(volunteer, 0, 95, ["bank_app", "qr_payments"], "progressed", "Mở tài khoản, in mã QR")
    await poster(volunteer, 0, 90)
    await visit(
        volunteer,
        0,
        80,
        ["qr_payments"],
        "progressed",
        "Khách quét mã đều",
        follow_up=today + timedelta(days=7),
    )
    await stage(volunteer, 0, "qr_active", 80, visit_on=local_date(ago(80)), customer_payments_7d=12)
    await stage(leader, 0, "qr_active", 79, kind="verified")
    # Mè xửng Thiên Hương: a QR code for 45 days and no use yet; the follow-up is due today.
    await stage(volunteer, 1, "identity", 85, note="Đã xem VNeID mức 2 trên điện thoại của chủ hộ")
    await stage(leader, 1, "identity", 84, kind="verified")
    await poster(volunteer, 1, 45)
    await visit(
        volunteer,
        1,
        38,
        ["qr_payments", "online_safety"],
        "needs_help",
        "Chủ hộ chưa quen nhận tiền qua mã QR; hẹn hướng dẫn lại",
        follow_up=today,
    )
    # Nón bài thơ Xuân Hòa: no payment account yet (its storefront went online two weeks ago, with
    # the leader's help), and the follow-up is overdue.
    await visit(
        second,
        2,
        70,
        ["vneid"],
        "not_interested",
        "Chủ hộ bận, hẹn lần sau",
        follow_up=today - timedelta(days=3),
    )
    # Chè Hẻm Hùng Vương: used QR, then stopped (its MoMo wallet was saved 58 days ago).
    await poster(second, 5, 55)
    await stage(second, 5, "qr_active", 45, visit_on=local_date(ago(45)), customer_payments_7d=6)
    await stage(
        second,
        5,
        "qr_active",
        10,
        kind="regressed",
        note="Mã QR bị rách, khách không quét được; chủ hộ quay lại tiền mặt",
    )
    await visit(
        second, 5, 10, ["qr_payments"], "needs_help", "Cần in lại mã QR", follow_up=today + timedelta(days=3)
    )
    # Bánh lọc Bà Tư: a claim waiting for the leader.
    await stage(second, 3, "identity", 20, note="Chủ hộ đã kích hoạt VNeID mức 2 tại công an phường")
    # Rau sạch Kim Long: its poster went up last week, so the dashboard has a QR code "just started".
    await poster(await demo_user(session, "demo-volunteer-b"), 6, 6)
    # Tạp hóa Chi Lăng answers the weekly question: a volunteer noted 6–20 paying customers twelve
    # days ago, the trader more than 20 on the edit link this week (signs of real use).
    checkins = CheckinService(session)
    await checkins.record_for(
        by=volunteer, merchant_id=demo_merchant_id(4), answer="6-20", day=today - timedelta(days=12), at=at
    )
    await checkins.record(
        merchant_id=demo_merchant_id(4),
        answer="20+",
        source="trader",
        day=local_date(ago(1)),
        at=ago(1),
        by=None,
    )
    return visits


# Officers' targets at each level, due some months after the seed (username, area, stage, %, days).
TARGETS = [
    ("demo-admin", None, "qr_active", 50, 365),
    ("demo-province", "46", "bank_account", 60, 180),
    ("demo-province", "46", "qr_active", 30, 270),
    ("demo-commune", "19753", "qr_active", 40, 120),
    ("demo-commune", "19753", "listed", 50, 90),
]


async def seed_demo_targets(session: AsyncSession, *, at: datetime) -> int:
    """At least one target at the country, a province and a commune, set by their officers through
    the service the dashboard uses, so a new user sees progress and the sub-areas behind."""
    from service.reports.targets import TargetIn, TargetService

    targets = TargetService(session)
    for username, area, stage, share, days in TARGETS:
        await targets.set(
            by=await demo_user(session, username),
            data=TargetIn(
                stage=stage,  # type: ignore[arg-type]
                share_percent=share,
                due_on=local_date(at) + timedelta(days=days),
                area=area,
            ),
            at=at,
        )
    return len(TARGETS)
