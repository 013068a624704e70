"""Uploaded files are judged by their content, not their name (OWASP, ASVS 5.2), and capped in size before they are written."""

from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from rest_framework.exceptions import APIException

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
        raise ValidationError(too_large_message(settings.MAX_UPLOAD_BYTES))
    mime = sniff(upload)
    if mime not in allowed:
        raise ValidationError(_("Only PDF, PNG or JPEG documents are accepted (judged by the file's content)."))
    return mime


# ---------------------------------------------------------------- size cap before anything is written
# ASVS 5.2.1: an upload over the limit is refused before it is stored. Django's *_MAX_MEMORY_SIZE
# settings do not cap files (a large file simply goes to a temporary file), so the cap is an upload
# handler placed first: it passes each chunk on until the file passes the cap, then skips the file
# (Django closes, and so deletes, whatever temporary file the next handler had begun). A request whose
# declared length is already over the cap is refused before a byte of its body is read.

MULTIPART_ALLOWANCE = 64 * 1024  # the form's other fields and the multipart boundaries


def too_large_message(max_bytes: int) -> str:
    return _("The file is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}


class CappedUploadHandler(FileUploadHandler):
    """Skips any file longer than ``max_bytes`` and notes it on the request (``upload_too_large``)."""

    def __init__(self, request=None, max_bytes=None):
        super().__init__(request)
        self.max_bytes = max_bytes or settings.MAX_UPLOAD_BYTES

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.max_bytes:
            if self.request is not None:
                self.request.upload_too_large = self.max_bytes
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


def declared_too_large(request, max_bytes: int) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > max_bytes + MULTIPART_ALLOWANCE


def cap_uploads(request, max_bytes=None) -> bool:
    """Put the cap first among the request's upload handlers; False when the declared length is already over it.

    Call before anything reads request.POST, request.FILES or the body."""
    max_bytes = max_bytes or settings.MAX_UPLOAD_BYTES
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    if declared_too_large(request, max_bytes):
        request.upload_too_large = max_bytes
        return False
    request.upload_handlers.insert(0, CappedUploadHandler(request, max_bytes))
    return True


def capped_upload(max_bytes=None, *, refused):
    """Decorate a function view that takes uploads: the cap is set before CSRF reads the form.

    ``refused(request, max_bytes)`` answers a request declared over the cap (its body is never read);
    a file found over the cap while streaming reaches the view as missing, with
    ``request.upload_too_large`` set, so the view can say why. CSRF is checked as usual, just after
    the cap is in place (the CSRF middleware would otherwise parse the body first)."""

    def decorate(view):
        protected = csrf_protect(view)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            limit = max_bytes() if callable(max_bytes) else (max_bytes or settings.MAX_UPLOAD_BYTES)
            if request.method in ("POST", "PUT", "PATCH") and not cap_uploads(request, limit):
                return refused(request, limit)
            return protected(request, *args, **kwargs)

        return csrf_exempt(wrapper)

    return decorate


class UploadTooLarge(APIException):
    """For REST views: 413 with the reason and code "too_large" (the body is not read)."""

    status_code = 413

    def __init__(self, max_bytes):
        super().__init__({"detail": too_large_message(max_bytes), "code": "too_large"})


def cap_api_uploads(request, max_bytes=None):
    """Call from an APIView's ``initial()``, before authentication (session CSRF reads the body); raises UploadTooLarge."""
    max_bytes = max_bytes or settings.MAX_UPLOAD_BYTES
    if not cap_uploads(request, max_bytes):
        raise UploadTooLarge(max_bytes)
