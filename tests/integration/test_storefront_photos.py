"""Product photos over HTTP: checked, turned upright, stripped of metadata, stored once, served
as immutable files."""

import io
import re

from PIL import ExifTags, Image

from tests.helpers import csrf_from
from tests.integration.test_payments_api import huge_png
from tests.integration.test_storefronts import add_product, editor, jpeg, new_merchant, volunteer  # noqa: F401

GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (16.0, 28.0, 21.5),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (107.0, 35.0, 3.2),
}


def camera_photo(size=(1600, 1200), orientation: int = 6) -> bytes:
    """A phone photo: landscape pixels, EXIF saying "turn 90°", GPS position, camera model."""
    image = Image.new("RGB", size, (30, 120, 200))
    image.paste((250, 200, 0), (0, 0, size[0] // 4, size[1]))  # a yellow band on the left edge
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Model] = "Tablet SM-T505"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    data = jpeg(image, exif=exif, comment=b"taken at the stall")
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload has GPS
    return data


def upload(data: bytes, name: str = "IMG_0001.jpg", kind: str = "image/jpeg") -> dict:
    return {"image": (name, data, kind)}


async def photo_urls(client, merchant_id) -> list[str]:
    page = await client.get(editor(merchant_id))
    return re.findall(r'src="(/media/[0-9a-f]{2}/[0-9a-f]{32}-thumb\.jpg)"', page.text)


async def test_photo_comes_back_upright_without_gps_or_any_metadata(volunteer) -> None:  # noqa: F811
    client = volunteer
    merchant_id = await new_merchant(client)
    response = await add_product(client, merchant_id, "Bún bò", files=upload(camera_photo()))
    assert response.status_code == 303, response.text
    (thumb_url,) = await photo_urls(client, merchant_id)
    for url in (
        thumb_url,
        thumb_url.replace(".jpg", ".webp"),
        thumb_url.replace("-thumb", "-display"),
        thumb_url.replace("-thumb.jpg", "-display.webp"),
    ):
        served = await client.get(url)
        assert served.status_code == 200, url
        assert set(served.headers["cache-control"].split(", ")) == {"public", "max-age=31536000", "immutable"}
        for marker in (b"Exif", b"GPS", b"SM-T505", b"taken at the stall", b"http://ns.adobe.com/xap"):
            assert marker not in served.content, (url, marker)
        picture = Image.open(io.BytesIO(served.content))
        assert not picture.getexif() and "exif" not in picture.info and "icc_profile" not in picture.info
        width, height = picture.size
        assert height > width  # turned upright: the portrait the camera meant
        assert max(width, height) == (400 if "-thumb" in url else 1200)
        # The yellow band that was on the left of the sensor is at the top after turning 90°.
        assert picture.convert("RGB").getpixel((width // 2, 5))[2] < 100


async def test_the_same_photo_is_stored_once(volunteer, settings) -> None:  # noqa: F811
    client = volunteer
    merchant_id = await new_merchant(client)
    photo = camera_photo()
    await add_product(client, merchant_id, "Bún bò", files=upload(photo))
    await add_product(client, merchant_id, "Bún bò giò", files=upload(photo, name="again.jpg"))
    urls = await photo_urls(client, merchant_id)
    assert len(urls) == 2 and urls[0] == urls[1]
    files = sorted(p.name for p in settings.media_dir.rglob("*") if p.is_file())
    image_id = urls[0].split("/")[-1].split("-")[0]
    assert files == sorted(f"{image_id}-{v}.{e}" for v in ("display", "thumb") for e in ("jpg", "webp"))


async def test_uploads_that_are_not_usable_photos_get_a_clear_message(volunteer) -> None:  # noqa: F811
    client = volunteer
    merchant_id = await new_merchant(client)
    cases = [
        (b"%PDF-1.4 not a photo" * 10, "Tệp không phải là ảnh."),
        (huge_png(8000, 5200), "Ảnh quá lớn (tối đa 40 megapixel)."),
        (jpeg(Image.new("RGB", (10, 10))) + b"\0" * (10 * 1024 * 1024), "Tệp quá lớn (tối đa 10 MB)."),
        (camera_photo()[:3000], "Không đọc được ảnh (tệp bị hỏng hoặc tải lên chưa hết)."),
    ]
    for data, message in cases:
        response = await add_product(client, merchant_id, "Bún bò", files=upload(data))
        assert response.status_code == 422, message
        assert message in response.text
        assert 'value="Bún bò"' in response.text  # what was typed stays
    assert await photo_urls(client, merchant_id) == []


async def test_transparent_png_is_flattened_on_white(volunteer) -> None:  # noqa: F811
    client = volunteer
    merchant_id = await new_merchant(client)
    picture = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    await add_product(client, merchant_id, "Bún bò", files=upload(out.getvalue(), "a.png", "image/png"))
    (url,) = await photo_urls(client, merchant_id)
    served = Image.open(io.BytesIO((await client.get(url)).content))
    assert served.mode == "RGB" and served.getpixel((10, 10)) > (240, 240, 240)


async def test_a_cover_photo_is_what_shares_show(volunteer) -> None:  # noqa: F811
    client = volunteer
    merchant_id = await new_merchant(client)
    await add_product(client, merchant_id, "Bún bò")
    cover = await client.get(editor(merchant_id))
    response = await client.post(
        f"/merchants/{merchant_id}/storefront/cover",
        data={"_csrf_token": csrf_from(cover.text)},
        files=upload(camera_photo(size=(2400, 1260), orientation=1)),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    await client.post(
        f"/merchants/{merchant_id}/storefront/publish",
        data={"_csrf_token": csrf_from(cover.text)},
        follow_redirects=False,
    )
    html = (await client.get("/s/bun-bo-co-ba-cho-dong-ba")).text
    assert '<meta property="og:image:width" content="1200">' in html
    assert '<meta property="og:image:height" content="630">' in html
