"""Demo storefronts: most demo traders have a published page with products, prices and photos.

Positions are those of `service.generated.demo.MERCHANTS`. Photos are drawn here with Pillow from a seed (the
product's name), so every seed gives the same pictures and the same content-addressed names, and
nothing is downloaded. The content (storefront, products, photos) is inserted as a draft; publishing
goes through `StorefrontService.publish`, on the day the story says, so each published storefront's
trader holds `listed` from that day, as in real use. Cà phê muối Đông Ba (15) has a draft it may
not publish: the trader did not agree to a public page.
"""

import colorsys
import random
import uuid
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.services import AccountService
from service.merchants.models import Merchant
from service.places.models import Commune
from service.storefronts import photos
from service.storefronts.models import Product, StoredImage, Storefront, StorefrontSlug
from service.storefronts.services import StorefrontService
from service.storefronts.slugs import base_slug, unique_slug
from service.text import fold

_FONTS = Path(__file__).resolve().parent.parent / "fonts"  # service/fonts
SIZE = (360, 270)  # under THUMB: the display and thumbnail variants are one file each
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# position -> (headline, hours, contact buttons, links, [(product, price, unit, available)])
STOREFRONTS: dict[int, tuple[str, tuple[str, str, str | None], bool, dict[str, str], list[tuple]]] = {
    0: (
        "Bún hến, cơm hến gia truyền ba đời giữa chợ Đông Ba",
        ("06:00", "13:00", None),
        True,
        {},
        [
            ("Bún hến", 25000, "bát", True),
            ("Cơm hến", 25000, "bát", True),
            ("Bánh bèo chén", 20000, "đĩa", True),
            ("Chè bắp Cồn Hến", 15000, "ly", True),
            ("Nước sâm", 10000, "ly", False),
        ],
    ),
    1: (
        "Mè xửng dẻo, mè xửng giòn làm tại nhà",
        ("07:00", "18:00", None),
        True,
        {},
        [
            ("Mè xửng dẻo", 45000, "hộp 250 g", True),
            ("Mè xửng giòn", 50000, "hộp 250 g", True),
            ("Kẹo gương", 40000, "hộp", True),
            ("Tôm chua Huế", 120000, "hũ 500 g", True),
        ],
    ),
    2: (
        "Nón lá bài thơ làng Tây Hồ, khắc chữ theo yêu cầu",
        ("08:00", "17:30", "sun"),
        True,
        {"facebook": "https://www.facebook.com/nonbaithoxuanhoa"},
        [
            ("Nón bài thơ", 150000, "chiếc", True),
            ("Nón lá trẻ em", 60000, "chiếc", True),
            ("Nón khắc tên", 200000, "chiếc", True),
        ],
    ),
    4: (
        "Tạp hóa đủ món, giao hàng trong phường",
        ("06:30", "21:30", None),
        True,
        {"shopee": "https://shopee.vn/taphoachilang"},
        [
            ("Gạo ST25", 38000, "kg", True),
            ("Nước mắm Nam Ô", 65000, "chai 500 ml", True),
            ("Dầu ăn", 52000, "chai 1 lít", True),
            ("Trứng gà", 35000, "chục", True),
            ("Mì gói", 4500, "gói", True),
            ("Đường cát", 26000, "kg", False),
        ],
    ),
    5: (
        "Chè Huế đủ vị, mở đến tối",
        ("13:00", "22:00", None),
        False,
        {},
        [
            ("Chè bột lọc heo quay", 20000, "ly", True),
            ("Chè đậu ván", 15000, "ly", True),
            ("Chè khoai môn", 15000, "ly", True),
            ("Chè thập cẩm", 20000, "ly", True),
        ],
    ),
    6: (
        "Rau sạch trồng tại Kim Long, hái mỗi sáng",
        ("05:00", "11:00", None),
        True,
        {},
        [
            ("Rau muống", 10000, "bó", True),
            ("Cải ngọt", 15000, "bó", True),
            ("Cà chua", 25000, "kg", True),
            ("Rau thơm", 5000, "bó", True),
        ],
    ),
    7: (
        "May đo áo dài, áo dài cưới, lấy trong ba ngày",
        ("08:00", "19:00", "sun"),
        True,
        {"facebook": "https://www.facebook.com/aodaivyda", "tiktok": "https://www.tiktok.com/@aodaivyda"},
        [
            ("May áo dài lụa", 850000, "bộ", True),
            ("Áo dài cách tân", 450000, "bộ", True),
            ("Cho thuê áo dài", 150000, "ngày", True),
        ],
    ),
    8: (
        "Bánh bèo, bánh nậm, bánh lọc nóng hổi",
        ("06:00", "10:30", None),
        False,
        {},
        [
            ("Bánh bèo", 20000, "đĩa", True),
            ("Bánh nậm", 5000, "cái", True),
            ("Bánh lọc", 5000, "cái", True),
        ],
    ),
    9: (
        "Nồi, chảo, đồ nhựa và đồ điện gia dụng",
        ("07:00", "18:00", None),
        True,
        {"postmart": "https://postmart.vn/gian-hang/do-gia-dung-ben-ngu"},
        [
            ("Nồi inox 3 đáy", 280000, "chiếc", True),
            ("Chảo chống dính", 190000, "chiếc", True),
            ("Rổ nhựa", 25000, "chiếc", True),
            ("Ấm siêu tốc", 210000, "chiếc", False),
        ],
    ),
    10: (
        "Lụa tơ tằm Vạn Phúc và khăn lụa thêu tay",
        ("08:30", "18:30", None),
        True,
        {"facebook": "https://www.facebook.com/luahangdao", "voso": "https://voso.vn/luahangdao"},
        [
            ("Lụa tơ tằm", 320000, "mét", True),
            ("Khăn lụa thêu", 250000, "chiếc", True),
            ("Cà vạt lụa", 180000, "chiếc", True),
        ],
    ),
    11: (
        "Phở gánh Hàng Chiếu, nước dùng ninh từ đêm",
        ("05:30", "09:30", None),
        False,
        {},
        [
            ("Phở bò tái", 50000, "bát", True),
            ("Phở bò chín", 50000, "bát", True),
            ("Quẩy", 5000, "cái", True),
        ],
    ),
    12: (
        "Trang sức bạc chạm tay phố Hàng Bạc",
        ("09:00", "20:00", None),
        True,
        {"zalo_oa": "https://zalo.me/bachangbacquocviet"},
        [
            ("Nhẫn bạc", 350000, "chiếc", True),
            ("Vòng tay bạc", 650000, "chiếc", True),
            ("Khuyên tai bạc", 280000, "đôi", True),
        ],
    ),
    13: (
        "Hợp tác xã rau an toàn, có truy xuất nguồn gốc",
        ("05:30", "12:00", "sun"),
        True,
        {},
        [
            ("Rau cải an toàn", 18000, "kg", True),
            ("Su hào", 12000, "củ", True),
            ("Bí đao", 15000, "kg", True),
            ("Mồng tơi", 10000, "bó", True),
        ],
    ),
    14: (
        "Sửa xe máy, vá lốp, thay dầu nhanh",
        ("07:00", "19:00", None),
        True,
        {},
        [
            ("Vá lốp xe máy", 30000, "lần", True),
            ("Thay dầu nhớt", 120000, "lần", True),
            ("Bảo dưỡng xe số", 150000, "lần", True),
        ],
    ),
}
# Days before the seed each storefront was published; the rest: 14. Tạp hóa Chi Lăng went online first.
PUBLISHED_DAYS_AGO = {4: 60}
# Drafts: (headline, products); never published (the trader has not agreed).
DRAFTS = {15: ("Cà phê muối kiểu Huế", [("Cà phê muối", 25000, "ly", True), ("Bạc xỉu", 20000, "ly", True)])}


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_FONTS / "NotoSans-Bold.ttf", size, layout_engine=ImageFont.Layout.RAQM)


def demo_photo(name: str) -> Image.Image:
    """A small made-up "photo" for a product: colours, a plate of shapes and the name, from a seed."""
    rng = random.Random(f"onboard-demo-photo:{name}")
    hue = rng.random()

    def colour(lightness: float, saturation: float) -> tuple[int, int, int]:
        r, g, b = colorsys.hls_to_rgb((hue + rng.uniform(-0.06, 0.06)) % 1, lightness, saturation)
        return int(r * 255), int(g * 255), int(b * 255)

    width, height = SIZE
    top, bottom = colour(0.72, 0.55), colour(0.42, 0.6)
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    cx, cy, r = width // 2, height // 2 - 20, rng.randint(105, 130)
    draw.ellipse(
        (cx - r, cy - r * 0.8, cx + r, cy + r * 0.8), fill=(248, 246, 240), outline=(210, 205, 195), width=4
    )
    for _ in range(rng.randint(6, 11)):
        x, y = cx + rng.randint(-r + 30, r - 30), cy + rng.randint(-int(r * 0.55), int(r * 0.55))
        size = rng.randint(10, 26)
        draw.ellipse((x - size, y - size, x + size, y + size), fill=colour(rng.uniform(0.3, 0.6), 0.7))
    draw.rectangle((0, height - 64, width, height), fill=(0, 0, 0))
    font = _font(30 if len(name) < 22 else 22)
    draw.text((width // 2, height - 32), name, font=font, fill=(255, 255, 255), anchor="mm")
    return image


def demo_products() -> list[str]:
    """Every demo product's name (a photo is drawn for each)."""
    return [name for _, (_, products) in _all() for name, *_ in products]


def write_photos(media_dir: Path) -> int:
    """Write the demo photos' files into a media folder (they are drawn again, identically: a
    database copied from a seeded one gets its pictures this way). Returns how many."""
    names = set(demo_products())
    for name in names:
        photos.store(media_dir, photos.variants(demo_photo(name)))
    return len(names)


def _all() -> list[tuple[int, tuple[str, list[tuple]]]]:
    return [*[(p, (spec[0], spec[4])) for p, spec in STOREFRONTS.items()], *DRAFTS.items()]


async def seed_demo_storefronts(session: AsyncSession, *, at: datetime, media_dir: Path | None) -> int:
    """Insert the demo storefronts as drafts and publish the public ones as their team leader; photo
    files are written to `media_dir` when one is given (rows alone otherwise: the test databases are
    copied without a media folder). Returns how many are published."""
    storefronts = StorefrontService(session)
    people = AccountService(session)
    taken: set[str] = set()
    images: dict[str, StoredImage] = {}
    published = 0
    for position, (headline, products) in _all():
        merchant_id = uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-merchant-{position}")
        merchant = await session.scalar(select(Merchant).where(Merchant.id == merchant_id))
        if merchant is None:
            continue
        commune = await session.get(Commune, merchant.commune_code)
        slug = unique_slug(
            base_slug(merchant.business_name, merchant.market or (commune.name if commune else None)),
            taken.__contains__,
        )
        taken.add(slug)
        spec = STOREFRONTS.get(position)
        opens, closes, closed = spec[1] if spec else ("07:00", "17:00", None)
        is_public = spec is not None
        created = at - timedelta(days=PUBLISHED_DAYS_AGO.get(position, 14), minutes=position)
        storefront = Storefront(
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-storefront-{position}"),
            merchant_id=merchant.id,
            province_code=merchant.province_code,
            slug=slug,
            published=False,
            published_at=None,
            headline=headline,
            description=None,
            hours={day: (None if day == closed else [opens, closes]) for day in WEEK},
            location_note=None,
            map_url=None,
            contact_phone=merchant.owner_phone if spec and spec[2] else None,
            contact_call=bool(spec and spec[2]),
            contact_zalo=bool(spec and spec[2]),
            links=dict(spec[3]) if spec else {},
            search_fold=fold(" ".join([headline, merchant.market or "", *(p[0] for p in products)]))[:1000],
            created_at=created,
            updated_at=created,
        )
        pictures = []
        for name, *_ in products:
            prepared = photos.variants(demo_photo(name))
            if prepared.id not in images:
                if media_dir is not None:
                    photos.store(media_dir, prepared)
                images[prepared.id] = StoredImage(
                    id=prepared.id,
                    width=prepared.width,
                    height=prepared.height,
                    thumb_width=prepared.thumb_width,
                    thumb_height=prepared.thumb_height,
                    created_at=created,
                )
                session.add(images[prepared.id])
            pictures.append(prepared.id)
        session.add(storefront)
        await session.flush()  # rows without relationships are inserted in the order they are flushed
        session.add(StorefrontSlug(slug=slug, storefront_id=storefront.id, created_at=created))
        for n, ((name, price, unit, available), image_id) in enumerate(
            zip(products, pictures, strict=True), 1
        ):
            session.add(
                Product(
                    id=uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-product-{position}-{n}"),
                    storefront_id=storefront.id,
                    province_code=merchant.province_code,
                    name=name,
                    price=price,
                    unit=unit,
                    image_id=image_id,
                    available=available,
                    position=n,
                    created_at=created,
                    updated_at=created,
                )
            )
        await session.flush()
        if is_public:
            leader = await people.current_user(user_id=merchant.created_by_id)
            assert leader is not None
            await storefronts.publish(by=leader, merchant_id=merchant.id, at=created)
            published += 1
    return published
