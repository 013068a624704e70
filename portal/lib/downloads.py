"""Files the portal hands out: one way to send them.

Every file leaves as a download (``Content-Disposition: attachment``) unless a page shows it as an image
(``inline``), and always with ``Content-Security-Policy: sandbox``, so that a file a browser renders anyway
(an uploaded "photo" that is really HTML) runs no script in the portal's origin (reliability-and-security.md
§2: uploads served only by authorising views). The file name is encoded by Django
(``content_disposition_header``: RFC 6266 / RFC 5987 for non-ASCII names), never pasted into the header.
"""

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

SANDBOX = "sandbox"


def _sealed(response, *, filename: str | None, inline: bool):
    response["Content-Disposition"] = (
        content_disposition_header(not inline, filename) if filename else ("inline" if inline else "attachment")
    )
    response["Content-Security-Policy"] = SANDBOX
    return response


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    """Bytes built in memory (an export) as a download, sandboxed should a browser render it anyway."""
    return _sealed(HttpResponse(content, content_type=content_type), filename=filename, inline=False)


def stored_file(file, *, filename: str | None, content_type: str | None = None, inline: bool = False) -> FileResponse:
    """A stored file (an open file object), streamed as a download; ``inline`` only for an image a page shows.
    The content type is the one recorded at upload when given, else guessed from ``filename``."""
    response = FileResponse(file, content_type=content_type, as_attachment=not inline, filename=filename or "")
    return _sealed(response, filename=filename, inline=inline)
