"""Demo data: two provinces, six communes, villages, teams, volunteers and officers, in Vietnamese.

Every demo login uses the password `demo-password`.
"""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Team, User, team_villages
from service.accounts.passwords import hash_password
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


async def seed_demo(session: AsyncSession, *, at: datetime) -> dict[str, int]:
    """Insert the demo data set. Refuses to run twice (usernames are unique)."""
    # One hash for every demo account: they share a password, and 40 argon2 hashes would take seconds.
    password_hash = hash_password(DEMO_PASSWORD)
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
    return counts
