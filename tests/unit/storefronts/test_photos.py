import io

import pytest
from PIL import ExifTags, Image

from service.images import ImageError
from service.storefronts.photos import DISPLAY, THUMB, file_name, prepare


def jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", **options)
    return out.getvalue()


def with_exif(size=(2000, 1500), orientation=6) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (16.0, 28.0, 1.0)}
    )
    return jpeg(Image.new("RGB", size, (120, 60, 30)), exif=exif)


def test_variants_are_upright_sized_and_bare() -> None:
    prepared = prepare(with_exif())
    assert (prepared.width, prepared.height) == (900, 1200)
    assert (prepared.thumb_width, prepared.thumb_height) == (300, 400)
    assert (
        max(prepared.width, prepared.height) <= DISPLAY
        and max(prepared.thumb_width, prepared.thumb_height) <= THUMB
    )
    assert set(prepared.files) == {
        file_name(prepared.id, v, e) for v in ("display", "thumb") for e in ("webp", "jpg")
    }
    for data in prepared.files.values():
        image = Image.open(io.BytesIO(data))
        assert not image.getexif() and b"Exif" not in data


def test_the_name_is_the_content_so_metadata_does_not_change_it() -> None:
    plain = Image.new("RGB", (640, 480), (10, 200, 90))
    first = prepare(jpeg(plain, quality=95))
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "another phone"
    second = prepare(jpeg(plain, quality=95, exif=exif, comment=b"resent on Zalo"))
    assert first.id == second.id and len(first.id) == 32
    assert prepare(jpeg(Image.new("RGB", (640, 480), (10, 200, 91)), quality=95)).id != first.id


def test_small_pictures_keep_their_size() -> None:
    prepared = prepare(jpeg(Image.new("RGB", (300, 200))))
    assert (prepared.width, prepared.height, prepared.thumb_width, prepared.thumb_height) == (
        300,
        200,
        300,
        200,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a but not really", "Tệp không phải là ảnh."),
        (
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 100,
            "Chưa đọc được định dạng ảnh này (HEIC/AVIF). Hãy gửi ảnh JPEG hoặc PNG.",
        ),
        (b"\xff\xd8" + b"\0" * (10 * 1024 * 1024), "Tệp quá lớn (tối đa 10 MB)."),
    ],
)
def test_refusals_say_why(data, message) -> None:
    with pytest.raises(ImageError) as caught:
        prepare(data)
    assert caught.value.message == message and caught.value.field == "image"
