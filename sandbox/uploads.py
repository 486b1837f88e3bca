"""A cap on uploaded files that holds, whatever the client claims about their size."""

from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.http import HttpRequest

MULTIPART_MARGIN = 64 * 1024  # room for the form's other fields and part headers


class CappedUploadHandler(FileUploadHandler):
    """Stop reading a file as soon as it passes `limit` bytes.

    It runs before TemporaryFileUploadHandler, so a file is written to a temporary file
    in chunks (never held whole in memory) and one over the limit is dropped, its partial
    temporary file deleted, without storing a byte more.
    """

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            # Read (and drop) the rest of the body, so the client gets our answer.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the temporary-file handler after this one makes the file


def upload_handlers_capped(request: HttpRequest, *, limit: int) -> CappedUploadHandler:
    """Make `request` store uploads in temporary files of at most `limit` bytes each.

    Call before anything reads request.POST or request.FILES (so the view must be
    csrf_exempt and check CSRF itself afterwards, as Django's docs on upload handlers say).
    """
    capped = CappedUploadHandler(request, limit)
    request.upload_handlers = [capped, TemporaryFileUploadHandler(request)]
    return capped


def upload_declared_too_large(request: HttpRequest, *, limit: int) -> bool:
    """Whether the body is announced as bigger than any allowed upload: refuse it unread."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > limit + MULTIPART_MARGIN
