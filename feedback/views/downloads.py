"""Files customers sent, served to the members of their team only, always as a download.

What a customer sends may be HTML, SVG or a script dressed up as a picture: served inline
from the portal's origin it would run with the reader's session. So every file goes out with
``Content-Disposition: attachment``, ``X-Content-Type-Options: nosniff``, a sandboxing
Content-Security-Policy, and as ``application/octet-stream`` unless its type is one a
browser only ever displays.
"""

from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from feedback import selectors
from feedback.mail.names import sanitize_filename

FILE_MISSING = "The file is missing from storage."
OCTET_STREAM = "application/octet-stream"
# Types whose content a browser displays but never runs; all others go out as octet-stream.
SAFE_CONTENT_TYPES = frozenset(
    {
        "application/pdf",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "text/csv",
        "text/plain",
    }
)


def safe_content_type(content_type: str) -> str:
    """The type to serve a file as: its own when it is in the safe list, else octet-stream."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    return bare if bare in SAFE_CONTENT_TYPES else OCTET_STREAM


def storage_download(
    file: FieldFile,
    *,
    filename: str,
    content_type: str,
    request: HttpRequest | None = None,
) -> HttpResponse:
    """Stream a stored file as an attachment named ``filename``. When the storage has lost it
    (the row is there, the bytes are not, e.g. erased): a page saying so for ``request``, else
    Http404 with the message (the API shows it as its ``detail``)."""
    try:
        if not file.name:
            raise FileNotFoundError(file.name)
        handle = file.storage.open(file.name, "rb")
    except (FileNotFoundError, OSError, ValueError) as error:
        if request is None:
            raise Http404(FILE_MISSING) from error
        # The generic 404 page hides Http404's message; this one is no secret and says why.
        return render(request, "404.html", {"detail": FILE_MISSING}, status=404)
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=safe_content_type(content_type)
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = selectors.attachment_get(user=request.user, pk=pk)
    # Names are cleaned when mail is parsed; cleaning again costs nothing and keeps a row
    # written by any other path from putting a path or a control character in the header.
    filename = sanitize_filename(
        attachment.filename, index=attachment.pk, content_type=attachment.content_type
    )
    return storage_download(
        attachment.file, filename=filename, content_type=attachment.content_type, request=request
    )
