"""Photos of the boards: re-encoded without metadata, refused when not an
image the server decodes, bounded, and shown to whom may see them."""
import io

import pytest
from PIL import Image

from synthese import access, events, photos, publication, tokens
from synthese.access import OPERATOR
from synthese.documents import Pending, current_store
from synthese.events import DomainError
from tests.conftest import sheet_update


def jpeg_with_metadata(width=3000, height=2000, orientation=6) -> bytes:
    """A phone's photo: GPS position, camera, orientation 'rotate 90°', a comment."""
    image = Image.new("RGB", (width, height), (250, 220, 40))
    image.paste((20, 90, 200), (0, 0, width // 4, height // 4))  # a post-it in the top left corner
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15 Pro"  # Model
    exif[0x8825] = {1: "N", 2: (45.0, 46.0, 40.0), 3: "E", 4: (3.0, 5.0, 10.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret note", quality=90)
    return out.getvalue()


def test_a_phone_photo_is_upright_smaller_and_without_metadata():
    data, width, height = photos.reencode(jpeg_with_metadata())
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and (width, height) == image.size == (1333, 2000)  # rotated, longest side 2000
    assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
    assert "icc_profile" not in image.info
    assert b"PhoneMaker" not in data and b"secret note" not in data and b"Exif" not in data
    # Upright: the post-it of the top left corner is now in the top right.
    assert image.getpixel((width - 10, 10))[2] > 150 and image.getpixel((10, 10))[2] < 100


def test_png_with_transparency_and_webp_are_accepted():
    for fmt, mode in (("PNG", "RGBA"), ("WEBP", "RGB")):
        out = io.BytesIO()
        Image.new(mode, (640, 480), (10, 200, 10, 0) if mode == "RGBA" else (10, 200, 10)).save(out, fmt)
        data, width, height = photos.reencode(out.getvalue())
        assert Image.open(io.BytesIO(data)).format == "JPEG" and (width, height) == (640, 480)


@pytest.mark.parametrize("data", [
    b"",
    b"not an image at all",
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    b"GIF89a" + b"\x00" * 100,
    jpeg_with_metadata(400, 300)[:500],  # truncated
    b"%PDF-1.4 fake",
])
def test_what_is_not_a_decodable_photo_is_refused(data):
    with pytest.raises(DomainError) as refused:
        photos.reencode(data)
    assert refused.value.code == "unsupported"


def test_a_gif_or_a_tiff_is_refused_even_if_valid():
    for fmt in ("GIF", "TIFF", "BMP"):
        out = io.BytesIO()
        Image.new("RGB", (50, 50)).save(out, fmt)
        with pytest.raises(DomainError):
            photos.reencode(out.getvalue())


def test_a_decompression_bomb_is_refused():
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")  # 144 MP, a few KiB on the wire
    assert len(out.getvalue()) < 100_000
    with pytest.raises(DomainError) as refused:
        photos.reencode(out.getvalue())
    assert refused.value.code in ("too_large", "unsupported")


def test_photos_are_bounded_and_owned(make_atelier):
    atelier, porteur_token, _ = make_atelier()
    event = atelier.event
    anna = access.asking(tokens.find(events.join(event, event.join_code, "Anna").token))
    cecile = access.asking(tokens.find(events.join(event, event.join_code, "Cécile").token))
    small = jpeg_with_metadata(300, 200)
    mine = photos.add_photo(anna, atelier, small, "Le tableau des idées")
    assert mine.taken_by == "Anna" and mine.caption == "Le tableau des idées"
    with pytest.raises(access.Denied):
        photos.add_photo(access.PUBLIC_ASKING, atelier, small)
    with pytest.raises(access.Denied):
        photos.delete_photo(cecile, mine)  # another participant's photo
    for _ in range(photos.MAX_PHOTOS - 1):
        photos.add_photo(OPERATOR, atelier, small)
    with pytest.raises(DomainError) as full:
        photos.add_photo(OPERATOR, atelier, small)
    assert full.value.code == "conflict" and len(photos.photos(atelier)) == photos.MAX_PHOTOS
    photos.delete_photo(anna, mine)  # her own
    porteur = access.asking(tokens.find(porteur_token))
    photos.delete_photo(porteur, photos.photos(atelier)[0])  # the porteur's say
    assert len(photos.photos(atelier)) == photos.MAX_PHOTOS - 2


def test_versions_keep_their_photos_and_the_public_sees_only_those(make_atelier):
    atelier, _, _ = make_atelier()
    current_store().append([Pending(atelier.id, sheet_update(synthese="Une synthèse."))])
    first = photos.add_photo(OPERATOR, atelier, jpeg_with_metadata(300, 200))
    publication.publish(OPERATOR, atelier)
    later = photos.add_photo(OPERATOR, atelier, jpeg_with_metadata(300, 200))
    assert photos.may_see(access.PUBLIC_ASKING, first) and not photos.may_see(access.PUBLIC_ASKING, later)
    version, new = publication.publish(OPERATOR, atelier)  # a photo came: a new version
    assert new and version.photos == [first.id, later.id]
    photos.delete_photo(OPERATOR, first)
    assert [v.photos for v in atelier.versions] == [[], [later.id]]
    publication.unpublish(OPERATOR, atelier)
    assert not photos.may_see(access.PUBLIC_ASKING, later)
