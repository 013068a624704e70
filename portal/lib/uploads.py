"""Uploaded files are judged by their content, not their name (OWASP, ASVS 5.2)."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


def sniff(upload) -> str | None:
    head = upload.read(16)
    upload.seek(0)
    for mime, prefixes in SIGNATURES.items():
        if head.startswith(prefixes):
            return mime
    return None


def check_document(upload, allowed=("application/pdf", "image/png", "image/jpeg")) -> str:
    """Return the sniffed type, or raise with a message a person understands."""
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024)})
    mime = sniff(upload)
    if mime not in allowed:
        raise ValidationError(_("Only PDF, PNG or JPEG documents are accepted (judged by the file's content)."))
    return mime
