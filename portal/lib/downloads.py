"""Files the portal hands out: one way to send them."""
from django.http import HttpResponse


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    """A download (never shown inline), sandboxed should a browser render it anyway."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Security-Policy"] = "sandbox"
    return response
