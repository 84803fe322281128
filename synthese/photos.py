"""Photos of the boards: taken from the sheet page, decoded and re-encoded
here, stored in the database, shown on the sheet, its wall, its published
versions and the proceedings.

Only what Pillow decodes as JPEG, PNG or WebP is accepted, and what is
stored is always a new JPEG drawn from the decoded pixels: no metadata
(EXIF, GPS position, camera, ICC), no bytes of the upload, at most
MAX_SIDE pixels on its longest side.
"""
import io
import warnings

from sqlalchemy import func, select

from . import access, realtime
from .database import DatabaseThread
from .events import DomainError
from .extensions import db
from .models import Atelier, Photo, SheetVersion

#: Photos per sheet, longest side, the decoded image's pixels at most (a 48 MP phone).
MAX_PHOTOS = 20
MAX_SIDE = 2000
MAX_PIXELS = 50_000_000
MAX_CAPTION = 300
ACCEPTED = ("JPEG", "PNG", "WEBP")
QUALITY = 82
#: Decoding a 12 MP photo takes a few hundred ms of C code: in a native
#: thread, one at a time, so the event loop keeps serving the rooms.
_worker = DatabaseThread()


def reencode(data: bytes) -> tuple[bytes, int, int]:
    """A new JPEG of the image in ``data``, upright, without metadata; its size.
    DomainError if it is not a JPEG, PNG or WebP image Pillow can decode."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise DomainError("too_large", "The photo has too many pixels (50 million at most).")
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a smaller scale, faster
                upright = ImageOps.exif_transpose(image)
                if upright.mode in ("RGBA", "LA", "P"):
                    flat = Image.new("RGB", upright.size, "white")
                    rgba = upright.convert("RGBA")
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                    upright = flat
                resized = upright.convert("RGB")
                resized.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
                # A new image of the pixels alone: convert() and thumbnail()
                # carry the upload's info (its JPEG comment, ICC profile…) over.
                picture = Image.new("RGB", resized.size)
                picture.paste(resized)
                out = io.BytesIO()
                picture.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
                return out.getvalue(), picture.width, picture.height
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DomainError("unsupported", "Only JPEG, PNG or WebP photos are accepted.") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise DomainError("unsupported", "The photo could not be read.") from exc


def _of(atelier: Atelier, what):
    return select(what).where(Photo.atelier_id == atelier.id).order_by(Photo.id)


def photos(atelier: Atelier) -> list[Photo]:
    """The sheet's photos now, oldest first."""
    return list(db.session.scalars(_of(atelier, Photo)))


def photo_ids(atelier: Atelier) -> list[int]:
    """The same, ids only (what a version keeps), without loading the images."""
    return list(db.session.scalars(_of(atelier, Photo.id)))


def add_photo(asking: access.Asking, atelier: Atelier, data: bytes, caption: str = "") -> Photo:
    """Add a photo of the boards to the sheet (anyone who may write in it)."""
    _, credential = asking.require(atelier, "sheet.write")
    if not data:
        raise DomainError("invalid", "No photo was sent.")
    count = db.session.scalar(select(func.count()).select_from(Photo).where(Photo.atelier_id == atelier.id))
    if count >= MAX_PHOTOS:
        raise DomainError("conflict", "This sheet has 20 photos already: delete one first.")
    jpeg, width, height = _worker.run(reencode, data)
    photo = Photo(atelier_id=atelier.id, data=jpeg, width=width, height=height,
                  caption=" ".join((caption or "").split())[:MAX_CAPTION],
                  credential_id=credential.id if credential else None,
                  taken_by=credential.name if credential else "")
    db.session.add(photo)
    db.session.commit()
    realtime.photos_changed(atelier.id)
    return photo


def delete_photo(asking: access.Asking, photo: Photo) -> None:
    """Delete a photo (who took it, the porteur, the organiser): gone from the
    sheet and from the versions that showed it."""
    atelier = db.session.get(Atelier, photo.atelier_id)
    role, credential = asking.on_atelier(atelier)
    if not may_delete(role, credential, photo):
        asking.require(atelier, "sheet.publish")
    for version in db.session.scalars(select(SheetVersion).where(SheetVersion.atelier_id == atelier.id)):
        if photo.id in (version.photos or []):
            version.photos = [p for p in version.photos if p != photo.id]
    db.session.delete(photo)
    db.session.commit()
    realtime.photos_changed(atelier.id)


def may_see(asking: access.Asking, photo: Photo) -> bool:
    """Members see the sheet's photos; anyone else, those of the versions of a public sheet."""
    atelier = db.session.get(Atelier, photo.atelier_id)
    role, _ = asking.on_atelier(atelier)
    if access.can(role, "sheet.read_live"):
        return True
    return atelier.public and any(photo.id in (v.photos or []) for v in atelier.versions)


def may_delete(role: str, credential, photo: Photo) -> bool:
    return access.can(role, "sheet.publish") or (
        credential is not None and photo.credential_id == credential.id and access.can(role, "sheet.write"))


def in_version(version: SheetVersion) -> list[Photo]:
    return in_version_ids(version.photos or [])


def in_version_ids(ids: list[int]) -> list[Photo]:
    if not ids:
        return []
    return list(db.session.scalars(select(Photo).where(Photo.id.in_(ids)).order_by(Photo.id)))
