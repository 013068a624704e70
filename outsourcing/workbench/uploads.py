"""Uploads of the workbench, judged by their content (ASVS 5.2): call recordings and visit photos.

Follows portal.lib.uploads: a size limit first, then the file's own bytes decide its type; the
name and the browser's Content-Type are never trusted.
"""

import hashlib
import warnings

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image

from portal.lib import uploads as core_uploads

# A 60-minute call is about 28 MB as 64 kbit/s MP3 and about 58 MB as 8 kHz 16-bit WAV; 64 MiB
# takes a long call in any of the accepted formats without inviting arbitrary files.
MAX_RECORDING_BYTES = 64 * 1024 * 1024
MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_PHOTOS_PER_REPORT = 10

AUDIO_LABELS = "MP3, WAV, M4A/AAC, AMR, OGG"


def sniff_audio(head: bytes) -> str | None:
    """The audio type from the first bytes of a file, or None."""
    if head.startswith(b"ID3"):  # MP3 with an ID3v2 tag
        return "audio/mpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if len(head) >= 8 and head[4:8] == b"ftyp":  # ISO base media: M4A, 3GP
        return "audio/mp4"
    if head.startswith(b"#!AMR"):  # also #!AMR-WB
        return "audio/amr"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:  # 11-bit frame sync
        layer = (head[1] >> 1) & 0b11
        if layer == 0b00 and (head[1] & 0xF0) == 0xF0:  # ADTS: MPEG-4 AAC, "layer" always 00
            return "audio/aac"
        if layer != 0b00:  # MPEG audio layer I–III
            return "audio/mpeg"
    return None


def _head(upload, size=16):
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def check_recording(upload) -> str:
    """The sniffed audio type, or ValidationError with a reason a collector understands."""
    if upload.size > MAX_RECORDING_BYTES:
        raise ValidationError(_("The recording is larger than %(mb)s MB.") % {"mb": MAX_RECORDING_BYTES // (1024 * 1024)})
    if upload.size == 0:
        raise ValidationError(_("The file is empty."))
    mime = sniff_audio(_head(upload))
    if mime is None:
        raise ValidationError(
            _("Only audio recordings are accepted (%(formats)s), judged by the file's content.") % {"formats": AUDIO_LABELS}
        )
    return mime


def check_photo(upload) -> tuple[str, int, int]:
    """(mime, width, height) of a PNG or JPEG photo, or ValidationError.

    Pillow's decompression-bomb guard (Image.MAX_IMAGE_PIXELS) is honoured: an image over the limit
    is refused, not merely warned about.
    """
    if upload.size > MAX_PHOTO_BYTES:
        raise ValidationError(_("The photo is larger than %(mb)s MB.") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)})
    mime = core_uploads.sniff(upload)
    if mime not in ("image/png", "image/jpeg"):
        raise ValidationError(_("Only PNG or JPEG photos are accepted (judged by the file's content)."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as image:
                width, height = image.size
                if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(_("The photo has too many pixels to be processed safely.")) from None
    except Exception:  # Pillow raises many types for a damaged file
        raise ValidationError(_("The photo could not be read; it may be damaged.")) from None
    finally:
        upload.seek(0)
    return mime, width, height


def sha256_of(upload) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()
