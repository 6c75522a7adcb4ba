"""A national-shaped data set for benchmarks (`onboard bench-data`): every province and commune,
villages, teams and their members, merchants with 24 months of stage events and visits.

Sizes are skewed like the country's: commune weights are lognormal (wards weigh more than rural
communes), so a few provinces and communes are big and most are small. About one team per 50
merchants, each covering one to three villages of its commune, with a leader and about four
volunteers. Stages fall off along the chain (all registered, ~70 % identity … ~2 % digital_ops),
later for merchants registered recently; some QR users stop, some claims are rejected and claimed
again, leaders verify about half of the claims.

What the write path derives is derived the same way here: each merchant's stage columns and
`merchant_stages` rows are `stages.progress` of its generated log (as `OnboardingService._apply`
writes them), its last visit and next follow-up are those of its latest visit, and each member's
`last_visit_at` is their latest visit. Rows go in through `merchants.bulk.insert_rows` (COPY on
PostgreSQL, executemany on SQLite), committed per batch, with the big tables' secondary indexes
dropped meanwhile and built again at the end (an interrupted run leaves a database to throw away);
then the report counters are rebuilt.
"""

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Team, User, team_villages
from service.accounts.passwords import hash_password
from service.merchants.bulk import cyclic_gc_paused, insert_rows
from service.merchants.models import Merchant
from service.merchants.services import _folds
from service.onboarding import stages
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.places.models import Commune, Village
from service.reports import counters
from service.text import fold

PASSWORD = "bench-password"
USERNAME_PREFIX = "bench-"
MERCHANTS_PER_TEAM = 50
HISTORY = timedelta(days=730)
DAY = 86_400

# Share of merchants that ever reach each stage, before the clock cuts off the recent ones.
REACH = {
    "identity": 0.74,
    "bank_account": 0.65,
    "qr_issued": 0.55,
    "qr_active": 0.29,
    "listed": 0.18,
    "ecommerce": 0.065,
    "digital_ops": 0.03,
}
# Median days from the stage before to this one (lognormal, sigma 0.8).
GAP_DAYS = {
    "identity": 6,
    "bank_account": 8,
    "qr_issued": 4,
    "qr_active": 12,
    "listed": 25,
    "ecommerce": 35,
    "digital_ops": 50,
}
AUTOMATIC_SHARE = {"bank_account": 0.6, "qr_issued": 0.8, "listed": 1.0}
KINDS = (
    ("household_business", 0.40),
    ("market_stall", 0.30),
    ("street_vendor", 0.20),
    ("micro_enterprise", 0.07),
    ("cooperative", 0.03),
)
HEADS = {
    "food_drink": ["Bún bò", "Phở", "Cơm tấm", "Bánh mì", "Chè", "Cà phê", "Bún chả", "Bánh cuốn", "Xôi"],
    "fresh_produce": ["Rau sạch", "Hoa quả", "Thịt heo", "Cá tươi", "Gạo", "Trái cây", "Trứng gà"],
    "groceries": ["Tạp hóa", "Đồ khô", "Gia vị", "Nước giải khát", "Bánh kẹo"],
    "clothing_textiles": ["Áo dài", "Quần áo", "Vải", "Giày dép", "May mặc"],
    "household_goods": ["Đồ gia dụng", "Đồ nhựa", "Điện máy", "Đồ nhôm", "Chén bát"],
    "services": ["Sửa xe", "Cắt tóc", "Giặt là", "Sửa điện thoại", "May đo"],
    "crafts_ocop": ["Nón lá", "Mây tre", "Gốm", "Mật ong", "Nước mắm", "Chè búp"],
    "other": ["Cửa hàng", "Đại lý", "Quầy"],
}
CATEGORY_SHARES = (
    ("food_drink", 0.30),
    ("groceries", 0.20),
    ("fresh_produce", 0.18),
    ("services", 0.09),
    ("clothing_textiles", 0.08),
    ("household_goods", 0.07),
    ("crafts_ocop", 0.05),
    ("other", 0.03),
)
TITLES = ["Cô", "Chị", "Bà", "Anh", "Chú", "Cô", "Chị"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Đức", "Hữu", "Bảo"]
GIVEN = [
    *("An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hạnh", "Hiếu", "Hoà", "Hương", "Khánh", "Lan"),
    *("Linh", "Long", "Mai", "Nam", "Ngân", "Nhung", "Phúc", "Quân", "Quỳnh", "Sơn", "Tâm", "Thảo"),
    *("Thư", "Trang", "Trí", "Tú", "Uyên", "Việt", "Vy", "Yến", "Lộc", "Đào", "Cúc", "Tư"),
]
CONSENTS = (["contact", "statistics"], ["storefront", "contact", "statistics"], ["contact"])
MOBILE_PREFIXES = [
    *("32", "33", "34", "35", "36", "37", "38", "39", "56", "58", "70", "76", "77", "78", "79"),
    *("81", "82", "83", "84", "85", "86", "88", "90", "92", "91", "93", "94", "96", "97", "98"),
]
PHONE_SPACE = len(MOBILE_PREFIXES) * 10**7
PHONE_STEP = 7_777_777  # coprime with PHONE_SPACE: i -> phone is one-to-one
NOTES = {
    "identity": "Đã xem VNeID mức 2 trên điện thoại của chủ hộ",
    "bank_account": "Chủ hộ có tài khoản ngân hàng nhận được chuyển khoản",
    "qr_issued": "Mã QR đã dán tại quầy",
    "digital_ops": "Chủ hộ dùng hóa đơn điện tử",
}
SHOPS = ("https://shopee.vn/", "https://www.tiktok.com/@", "https://www.facebook.com/")
TOPICS = {
    "registered": ["vneid", "online_safety"],
    "identity": ["vneid"],
    "bank_account": ["bank_app", "online_safety"],
    "qr_issued": ["qr_payments"],
    "qr_active": ["qr_payments"],
    "ecommerce": ["ecommerce"],
    "digital_ops": ["e_invoice_tax"],
}
OTHER_OUTCOMES = ["needs_help", "needs_help", "not_interested", "not_met", "progressed"]

assert math.gcd(PHONE_STEP, PHONE_SPACE) == 1
assert list(REACH) == [s.code for s in stages.STAGES[1:]]

Progress = Callable[[str, int, int], None]  # (phase, done, total), as in merchants.imports


def phone(i: int) -> str:
    """The i-th distinct mobile number, E.164."""
    n = (i * PHONE_STEP + 12_345) % PHONE_SPACE
    return f"+84{MOBILE_PREFIXES[n // 10**7]}{n % 10**7:07d}"


def uuid7(stamp_ms: int, rand: int) -> int:
    """A UUID version 7 as an int: the time stamp leads, so ids made in time order go to the end of
    the primary-key index."""
    rand &= (1 << 74) - 1
    return (
        (stamp_ms & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | (rand >> 62) << 64
        | 0b10 << 62
        | rand & ((1 << 62) - 1)
    )


class Codec:
    """Values as the driver takes them (`bulk.insert_rows(prepared=True)`), from ids as ints, times
    as unix seconds and days as Vietnam's day numbers since 1970-01-01."""

    def __init__(self, dialect: str):
        self.sqlite = dialect == "sqlite"
        self._days: dict[int, str] = {}
        if self.sqlite:
            self._clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000000" for s in range(DAY)]
            self._dates: dict[int, str] = {}

    def uid(self, n: int) -> Any:
        return n.to_bytes(16, "big") if self.sqlite else uuid.UUID(int=n)

    def ts(self, t: int) -> Any:
        if not self.sqlite:
            return datetime.fromtimestamp(t, UTC)
        day, second = divmod(t, DAY)
        prefix = self._dates.get(day)
        if prefix is None:
            prefix = self._dates[day] = f"{EPOCH + timedelta(days=day)} "
        return prefix + self._clock[second]

    def iso_day(self, day: int) -> str:
        value = self._days.get(day)
        if value is None:
            value = self._days[day] = (EPOCH + timedelta(days=day)).isoformat()
        return value

    def day(self, day: int) -> Any:
        return self.iso_day(day) if self.sqlite else EPOCH + timedelta(days=day)

    def json(self, value: Any) -> str:
        return msgspec.json.encode(value).decode()

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value


EPOCH = date(1970, 1, 1)
LOCAL = 7 * 3600  # Vietnam: UTC+7 all year (worklist.VIETNAM)


@dataclass
class _Team:
    id: int
    province_code: str
    commune_code: str
    villages: list[int]
    members: list[int]  # the leader first


@dataclass
class Report:
    """What was written, and the stage shares that resulted."""

    counts: dict[str, int] = field(default_factory=dict)
    reached: dict[str, int] = field(default_factory=dict)  # merchants that ever reached each stage
    current: dict[str, int] = field(default_factory=dict)  # merchants at each stage now
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each phase


class EmptyDatabaseRequired(Exception):
    pass


class Generator:
    """Rows for one data set: `plan` draws the places and people, `merchant` one merchant's rows.

    Inside, ids are ints, times unix seconds and days Vietnam's day numbers: `stages.progress` only
    compares times, so it gives the same result on seconds as on datetimes, and each value is
    turned into the driver's form once, by `codec`."""

    def __init__(self, *, merchants: int, seed: int, now: datetime, codec: Codec):
        self.n = merchants
        self.rng = random.Random(seed)
        self.codec = codec
        self.now = int(now.timestamp())
        self.start = int((now - HISTORY).timestamp())
        stamp = int(now.timestamp() * 1000)
        self._heads = {
            kind: uuid7(stamp + offset, 0) for offset, kind in enumerate(("event", "visit", "row"))
        }
        self._next = dict.fromkeys(self._heads, 0)
        self.last_visit: dict[int, int] = {}  # member -> latest visit
        self.report = Report(
            reached=dict.fromkeys(stages.BY_CODE, 0), current=dict.fromkeys(stages.BY_CODE, 0)
        )
        self._fold: dict[str, str] = {}
        self._consents = [codec.json(c) for c in CONSENTS]
        self._topics = {stage: codec.json(topics) for stage, topics in TOPICS.items()}

    def _id(self, kind: str) -> int:
        self._next[kind] += 1
        return self._heads[kind] | self._next[kind]

    # --- places and people ------------------------------------------------------------------

    def plan(self, communes: list[tuple[str, str, str]]) -> tuple[list[tuple[int, _Team]], dict[str, list]]:
        """Draw each merchant's commune, team and registration time; make the villages, teams and
        members they need. Returns the merchants as (created, team) in time order, and the rows."""
        rng, codec = self.rng, self.codec
        by_province: dict[str, list[int]] = {}
        for i, (_, province, _) in enumerate(communes):
            by_province.setdefault(province, []).append(i)
        province_factor = {p: rng.lognormvariate(0, 0.35) for p in sorted(by_province)}
        weights = [
            (3.0 if kind == "phuong" else 1.0) * province_factor[province] * rng.lognormvariate(0, 0.9)
            for _, province, kind in communes
        ]
        counts = [0] * len(communes)
        for c in rng.choices(range(len(communes)), weights=weights, k=self.n):
            counts[c] += 1
        # Every province has merchants (a test checks all 34 appear): take them from the biggest commune.
        for _, members in sorted(by_province.items()):
            if self.n >= len(by_province) and not any(counts[c] for c in members):
                counts[max(range(len(counts)), key=counts.__getitem__)] -= 1
                counts[max(members, key=weights.__getitem__)] += 1

        rows: dict[str, list] = {"villages": [], "teams": [], "team_villages": [], "users": []}
        at = codec.ts(self.start)
        merchants: list[tuple[int, _Team]] = []
        span = self.now - 3600 - self.start
        people = 0
        for c, (code, province, kind) in enumerate(communes):
            if not counts[c]:
                continue
            n_teams = max(1, round(counts[c] / MERCHANTS_PER_TEAM))
            label, village_kind = ("Tổ dân phố", "to_dan_pho") if kind == "phuong" else ("Thôn", "thon")
            villages = []
            for v in range(n_teams + rng.randint(1, 2 + n_teams // 2)):
                name = f"{label} {v + 1}"
                village_id = self._id("row")
                villages.append(village_id)
                rows["villages"].append(
                    (codec.uid(village_id), province, code, name, fold(name), village_kind, at)
                )
            teams = []
            for t in range(n_teams):
                created = codec.ts(self.start - rng.randint(1, 90) * DAY)
                first = (t * len(villages)) // n_teams
                team = _Team(self._id("row"), province, code, villages[first : first + rng.randint(1, 3)], [])
                team_id = codec.uid(team.id)
                name = f"Tổ công nghệ số {label.lower()} {first + 1}"
                rows["teams"].append((team_id, name, province, code, created))
                rows["team_villages"] += [(team_id, codec.uid(v)) for v in team.villages]
                for m in range(rng.choice((3, 4, 5, 5, 6, 7))):
                    people += 1
                    user_id = self._id("row")
                    team.members.append(user_id)
                    rows["users"].append(
                        (
                            codec.uid(user_id),
                            f"{USERNAME_PREFIX}{code}-{t + 1}-{m + 1}",
                            self._person(),
                            phone(self.n + people),
                            "team_leader" if m == 0 else "volunteer",
                            team_id,
                            province,
                            code,
                            created,
                        )
                    )
                teams.append(team)
            for _ in range(counts[c]):
                # Registrations pick up over the two years: the density grows like sqrt(t).
                merchants.append((self.start + int(span * rng.random() ** (2 / 3)), rng.choice(teams)))
        merchants.sort(key=lambda m: m[0])
        return merchants, rows

    def _person(self) -> str:
        rand = self.rng.random
        return f"{FAMILY[int(rand() * 13)]} {MIDDLE[int(rand() * 11)]} {GIVEN[int(rand() * len(GIVEN))]}"

    def _folded(self, value: str) -> str:
        folded = self._fold.get(value)
        if folded is None:
            if len(self._fold) > 500_000:
                self._fold.clear()
            folded = self._fold[value] = fold(value)
        return folded

    # --- one merchant -----------------------------------------------------------------------

    def merchant(
        self, i: int, created: int, team: _Team
    ) -> tuple[tuple, list[tuple], list[tuple], list[tuple]]:
        """The merchant row, its stage events, its `merchant_stages` rows and its visits."""
        rng, codec, now = self.rng, self.codec, self.now
        rand = rng.random
        uid, ts = codec.uid, codec.ts
        merchant_int = uuid7(created * 1000 + int(rand() * 1000), rng.getrandbits(74))
        merchant_id = uid(merchant_int)
        members = team.members
        registrar = members[int(rand() * len(members))]
        worker = members[int(rand() * len(members))]  # the volunteer who follows this merchant
        province, commune = team.province_code, team.commune_code

        kind = _pick(KINDS, rand())
        category = _pick(CATEGORY_SHARES, rand())
        owner = self._person()
        heads = HEADS[category]
        head = heads[int(rand() * len(heads))]
        if rand() < 0.6:
            business = f"{head} {TITLES[int(rand() * len(TITLES))]} {owner.rsplit(' ', 1)[1]}"
        else:
            business = f"{head} {owner.split(' ', 1)[1]}"
        market = stall = None
        if kind == "market_stall":
            market = f"Chợ {commune[-3:]}" if rand() < 0.3 else "Chợ trung tâm"
            stall = f"{'ABCDE'[int(rand() * 5)]}-{1 + int(rand() * 80):02d}"
        folds = _folds({"business_name": business, "owner_name": owner, "market": market}, fold=self._folded)
        cccd = tax = None
        if rand() < 0.3:
            cccd = (
                f"{1 + int(rand() * 96):03d}{int(rand() * 4)}{int(rand() * 100):02d}{int(rand() * 10**6):06d}"
            )
        if rand() < 0.12:
            tax = f"8{int(rand() * 10**9):09d}"
        village = team.villages[int(rand() * len(team.villages))] if rand() < 0.9 else None

        # The stage log, as (occurred, recorded, stage, kind, source, by, note, evidence, client id),
        # and the visits, as (when, who, topic stage, outcome).
        log: list[tuple] = [
            (created, created, "registered", "reached", "automatic", registrar, None, None, None)
        ]
        visits: list[tuple[int, int, str, str]] = []
        if rand() < 0.6:
            visits.append((created, registrar, "registered", "progressed"))
        depth = rand()
        identity_draw = depth if rand() < 0.8 else rand()
        t = created
        for code, share in REACH.items():
            if (identity_draw if code == "identity" else depth) >= share:
                if code == "identity":
                    continue  # skipped: later stages may still come
                break
            gap = rng.lognormvariate(GAP_MU[code], 0.8) * DAY
            if code == "qr_active":
                gap = max(gap, 8 * DAY)  # a follow-up visit at least a week after the QR went up
            at = t + int(gap) + 600 + int(rand() * 8 * 3600)
            if at > now:
                break
            t = at
            if rand() < AUTOMATIC_SHARE.get(code, 0.0):
                log.append(
                    (
                        at,
                        at,
                        code,
                        "reached",
                        "automatic",
                        None if code == "listed" else worker,
                        None,
                        None,
                        None,
                    )
                )
                continue
            self._claim(log, visits, code, at, worker, folds, i)
            self._after_claim(log, visits, code, at, worker, members[0], folds, i)

        for _ in range(FOLLOW_UPS[int(rand() * len(FOLLOW_UPS))]):  # visits that moved nothing on
            at = created + int(rand() * (now - created))
            topic = "identity" if depth >= REACH["identity"] else "qr_active"
            visits.append((at, members[int(rand() * len(members))], topic, OTHER_OUTCOMES[int(rand() * 5)]))

        events = []
        event_rows = []
        for n, (occurred, recorded, stage, kind_, source, by, note, evidence, client) in enumerate(log):
            event_id = self._id("event")
            events.append(
                stages.Event(
                    stage=stage,
                    kind=kind_,
                    occurred_at=occurred,
                    recorded_at=recorded,
                    source=source,
                    ref=event_id,
                )
            )
            if client is None:  # automatic: the write path's own client id
                client = f"auto:{stage}:{merchant_int:032x}" if n == 0 else f"auto:{stage}:{n}"
            event_rows.append(
                (
                    uid(event_id),
                    merchant_id,
                    stage,
                    kind_,
                    source,
                    ts(occurred),
                    ts(recorded),
                    uid(by) if by is not None else None,
                    note,
                    codec.json(evidence) if evidence is not None else None,
                    client,
                    province,
                    commune,
                )
            )
        held = stages.progress(events)
        stage_rows = [
            (
                merchant_id,
                code,
                ts(event.occurred_at),
                codec.flag(code in held.verified),
                uid(event.ref),
                province,
                commune,
            )
            for code, event in held.holds.items()
        ]
        reached = self.report.reached
        for code in held.ever:
            reached[code] += 1
        self.report.current[held.stage] += 1

        visit_rows = []
        latest: tuple[int, int, int | None] | None = None
        last_visit = self.last_visit
        visits.sort(key=lambda v: v[0])
        for n, (occurred, who, topic, outcome) in enumerate(visits):
            recorded = min(now, occurred + int(rand() * 3 * 3600))
            day = (occurred + LOCAL) // DAY
            follow_up = day + 7 + int(rand() * 24) if rand() < 0.6 else None
            visit_rows.append(
                (
                    uid(self._id("visit")),
                    merchant_id,
                    uid(who),
                    codec.day(day),
                    ts(occurred),
                    ts(recorded),
                    VISIT_MINUTES[int(rand() * len(VISIT_MINUTES))],
                    self._topics[topic],
                    outcome,
                    codec.day(follow_up) if follow_up is not None else None,
                    f"bench-visit-{n}",
                    province,
                    commune,
                )
            )
            if latest is None or (occurred, recorded) >= latest[:2]:
                latest = (occurred, recorded, follow_up)
            if last_visit.get(who, 0) < occurred:
                last_visit[who] = occurred

        created_at = ts(created)
        registrar_id = uid(registrar)
        merchant_row = (
            merchant_id,
            kind,
            business,
            category,
            owner,
            phone(i),
            cccd,
            tax,
            province,
            commune,
            uid(village) if village is not None else None,
            market,
            stall,
            uid(team.id),
            self._consents[int(rand() * len(CONSENTS))],
            created_at,
            registrar_id,
            held.stage,
            ts(held.reached_at) if held.reached_at is not None else created_at,
            ts(latest[0]) if latest else None,
            codec.day(latest[2]) if latest and latest[2] is not None else None,
            created_at,
            created_at,
            registrar_id,
            folds["name_fold"],
            folds["search_fold"],
        )
        return merchant_row, event_rows, stage_rows, visit_rows

    def _claim(self, log: list, visits: list, code: str, at: int, worker: int, folds: dict, i: int) -> None:
        """A volunteer's claim, made at a visit, with the evidence its stage needs."""
        rng = self.rng
        recorded = (
            at + int(rng.expovariate(1 / 7200)) if rng.random() < 0.8 else at + int(rng.random() * 5 * DAY)
        )
        evidence = None
        if code == "qr_active":
            visit_on = self.codec.iso_day((at + LOCAL) // DAY)
            evidence = {"visit_on": visit_on, "customer_payments_7d": 1 + int(rng.random() * 40)}
        elif code == "ecommerce":
            shop = SHOPS[int(rng.random() * len(SHOPS))]
            evidence = {"link": f"{shop}{folds['name_fold'].replace(' ', '')}{i}"}
        log.append(
            (
                at,
                min(recorded, self.now),
                code,
                "reached",
                "manual",
                worker,
                NOTES.get(code),
                evidence,
                f"bench-{len(log)}",
            )
        )
        visits.append((at, worker, code, "progressed"))

    def _after_claim(
        self, log: list, visits: list, code: str, at: int, worker: int, leader: int, folds: dict, i: int
    ) -> None:
        """What may follow a claim: the leader verifies or rejects it (and it may be claimed again);
        a QR user may stop. Each change follows the previous one of the stage, so none of them is
        one the write path would drop as redundant."""
        rng, now = self.rng, self.now
        draw = rng.random()
        review = at + (1 + int(rng.random() * 10)) * DAY
        last, standing = at, True
        if review <= now and draw < 0.45:
            log.append((review, review, code, "verified", "review", leader, None, None, f"bench-{len(log)}"))
            last = review
        elif review <= now and draw < 0.48:
            note = "Chưa đủ bằng chứng, cần xác minh lại"
            log.append((review, review, code, "regressed", "review", leader, note, None, f"bench-{len(log)}"))
            last, standing = review, False
            again = review + (5 + int(rng.random() * 25)) * DAY
            if rng.random() < 0.5 and again <= now:
                self._claim(log, visits, code, again, worker, folds, i)
                last, standing = again, True
        if standing and code == "qr_active" and rng.random() < 0.12:
            stop = last + int(rng.lognormvariate(GAP_MU["stop"], 0.7) * DAY)
            if stop <= now:
                note = "Chủ hộ ngừng nhận thanh toán qua mã QR"
                log.append((stop, stop, code, "regressed", "manual", worker, note, None, f"bench-{len(log)}"))
                visits.append((stop, worker, code, "needs_help"))


def _pick(choices: tuple[tuple[str, float], ...], draw: float) -> str:
    for value, share in choices:
        draw -= share
        if draw < 0:
            return value
    return choices[-1][0]


GAP_MU = {code: math.log(days) for code, days in {**GAP_DAYS, "stop": 60}.items()}
VISIT_MINUTES = (10, 15, 20, 30, 30, 45, 60)
FOLLOW_UPS = (0, 0, 1, 1, 2)
MERCHANT_COLUMNS = [
    *("id", "kind", "business_name", "category", "owner_name", "owner_phone", "owner_id_number", "tax_code"),
    *("province_code", "commune_code", "village_id", "market", "stall", "team_id", "consent_purposes"),
    *("consent_at", "consent_by_id", "current_stage", "stage_reached_at", "last_visit_at", "next_follow_up"),
    *("created_at", "updated_at", "created_by_id", "name_fold", "search_fold"),
]
EVENT_COLUMNS = [
    *("id", "merchant_id", "stage", "kind", "source", "occurred_at", "recorded_at", "recorded_by_id", "note"),
    *("evidence", "client_event_id", "province_code", "commune_code"),
]
STAGE_COLUMNS = [
    "merchant_id",
    "stage",
    "reached_at",
    "verified",
    "event_id",
    "province_code",
    "commune_code",
]
VISIT_COLUMNS = [
    *("id", "merchant_id", "volunteer_id", "visited_on", "occurred_at", "recorded_at", "minutes", "topics"),
    *("outcome", "next_follow_up", "client_event_id", "province_code", "commune_code"),
]
USER_COLUMNS = [
    "id",
    "username",
    "full_name",
    "phone",
    "role",
    "team_id",
    "province_code",
    "commune_code",
    "created_at",
]


async def generate(
    session: AsyncSession,
    *,
    merchants: int,
    seed: int = 1,
    now: datetime,
    batch: int = 10_000,
    progress: Progress | None = None,
    rebuild_counters: bool = True,
) -> Report:
    """Fill an empty (migrated) database, committing each batch. EmptyDatabaseRequired if it
    already has merchants."""
    if await session.scalar(select(func.count()).select_from(Merchant)):
        raise EmptyDatabaseRequired("the database already has merchants")
    dialect = (await session.connection()).dialect.name
    if dialect == "sqlite":  # room for the indexes' pages; this connection only, set back below
        await session.execute(text("PRAGMA cache_size = -1000000"))
        await session.execute(text("PRAGMA synchronous = OFF"))
    codec = Codec(dialect)
    generator = Generator(merchants=merchants, seed=seed, now=now, codec=codec)
    communes = [
        (code, province, kind)
        for code, province, kind in await session.execute(
            select(Commune.code, Commune.province_code, Commune.kind).order_by(Commune.code)
        )
    ]
    report = generator.report
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        report.seconds[phase] = time.perf_counter() - clock
        clock = time.perf_counter()

    with cyclic_gc_paused():
        drawn, rows = generator.plan(communes)
        await _people(session, generator, rows)
        await session.commit()
        report.counts = {
            "provinces": len({c[1] for c in communes}),
            "communes": len(communes),
            "villages": len(rows["villages"]),
            "teams": len(rows["teams"]),
            "users": len(rows["users"]) + 1,
            "merchants": 0,
            "stage_events": 0,
            "merchant_stages": 0,
            "visits": 0,
        }
        tables = (
            ("merchants", Merchant.__table__, MERCHANT_COLUMNS, {"version": 1}),
            ("stage_events", StageEvent.__table__, EVENT_COLUMNS, None),
            ("merchant_stages", MerchantStage.__table__, STAGE_COLUMNS, None),
            ("visits", Visit.__table__, VISIT_COLUMNS, None),
        )
        # Secondary indexes are built once at the end: sorting millions of keys beats inserting
        # them one by one into ever larger B-trees. Primary keys and unique constraints stay.
        indexes = await _secondary_indexes(
            session, [table.name for _, table, _, _ in tables], dialect=dialect
        )
        for name, _ in indexes:
            await session.execute(text(f"DROP INDEX {name}"))
        await session.commit()
        lap("people")
        try:
            for start in range(0, len(drawn), batch):
                out: tuple[list, list, list, list] = ([], [], [], [])
                for i in range(start, min(start + batch, len(drawn))):
                    merchant_row, event_rows, stage_rows, visit_rows = generator.merchant(i, *drawn[i])
                    out[0].append(merchant_row)
                    out[1].extend(event_rows)
                    out[2].extend(stage_rows)
                    out[3].extend(visit_rows)
                for (name, table, columns, constants), chunk in zip(tables, out, strict=True):
                    report.counts[name] += await insert_rows(
                        session, table, columns, chunk, constants=constants, prepared=True
                    )
                await session.commit()
                if progress:
                    progress("merchants", start + len(out[0]), len(drawn))
        finally:
            lap("merchants")
            await session.rollback()
            for n, (_, create) in enumerate(indexes, start=1):
                await session.execute(text(create))
                await session.commit()
                if progress:
                    progress("indexes", n, len(indexes))
            lap("indexes")
        users = User.__table__
        latest = [
            {"b_id": uuid.UUID(int=user), "b_at": datetime.fromtimestamp(at, UTC)}
            for user, at in sorted(generator.last_visit.items())
        ]
        for start in range(0, len(latest), 5_000):
            await session.execute(
                update(users).where(users.c.id == bindparam("b_id")).values(last_visit_at=bindparam("b_at")),
                latest[start : start + 5_000],
            )
        await session.commit()
        lap("last visits")
    if rebuild_counters:
        if progress:
            progress("counters", 0, 1)
        await counters.rebuild(session)
        await session.commit()
        if progress:
            progress("counters", 1, 1)
        lap("counters")
    await session.execute(text("ANALYZE"))
    if dialect == "sqlite":
        await session.execute(text("PRAGMA cache_size = -2000"))
        await session.execute(text("PRAGMA synchronous = NORMAL"))
    await session.commit()
    lap("analyze")
    return report


async def _secondary_indexes(
    session: AsyncSession, tables: list[str], *, dialect: str
) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the tables' indexes that back no constraint."""
    if dialect == "sqlite":
        query = text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN :tables ORDER BY name"
        ).bindparams(bindparam("tables", expanding=True))
    else:
        query = text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename IN :tables AND indexname NOT IN (SELECT conname FROM pg_constraint) "
            "ORDER BY indexname"
        ).bindparams(bindparam("tables", expanding=True))
    return [(name, create) for name, create in await session.execute(query, {"tables": tables})]


async def _people(session: AsyncSession, generator: Generator, rows: dict[str, list]) -> None:
    codec = generator.codec
    password_hash = await hash_password(PASSWORD)
    await insert_rows(
        session,
        Village.__table__,
        ["id", "province_code", "commune_code", "name", "name_fold", "kind", "created_at"],
        rows["villages"],
        prepared=True,
    )
    await insert_rows(
        session,
        Team.__table__,
        ["id", "name", "province_code", "commune_code", "created_at"],
        rows["teams"],
        constants={"active": codec.flag(True)},
        prepared=True,
    )
    await insert_rows(session, team_villages, ["team_id", "village_id"], rows["team_villages"], prepared=True)
    admin = (
        codec.uid(generator._id("row")),
        f"{USERNAME_PREFIX}admin",
        "Quản trị hệ thống",
        None,
        "admin",
        None,
        None,
        None,
        codec.ts(generator.start),
    )
    await insert_rows(
        session,
        User.__table__,
        USER_COLUMNS,
        [*rows["users"], admin],
        constants={"password_hash": password_hash, "locale": "vi", "active": codec.flag(True)},
        prepared=True,
    )
    leaders = [
        {"b_id": _as_uuid(row[5]), "b_leader": _as_uuid(row[0])}
        for row in rows["users"]
        if row[4] == "team_leader"
    ]
    teams = Team.__table__
    for start in range(0, len(leaders), 5_000):
        await session.execute(
            update(teams).where(teams.c.id == bindparam("b_id")).values(leader_id=bindparam("b_leader")),
            leaders[start : start + 5_000],
        )


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(bytes=value)
