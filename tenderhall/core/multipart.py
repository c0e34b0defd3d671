"""A multipart/form-data body (RFC 7578) read as it arrives, in pieces of any size, with one file part
streamed to a writer and nothing else of it kept but the (small) text fields.

Django's own parser comes after its handler has spooled the whole body, and writes the file to a temporary
upload file of its own; the platform's form route (tenderhall.bids.uploads.FormArrival) instead hands each
piece the server receives to ``FormStream.feed``, which writes the file part's bytes straight where they
belong. Only what a form needs is read: parts with a ``Content-Disposition: form-data`` header, text fields
in UTF-8, one file part. Anything else ends the stream with a ``problem`` a person can act on; ``FormStream``
never raises while feeding (it runs in the server's event loop).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.http import parse_header_parameters
from django.utils.translation import gettext

FIELDS_MAX_BYTES = 64 * 1024  # every text field of the form together
FIELDS_MAX_COUNT = 100
HEADERS_MAX_BYTES = 8 * 1024  # the headers of one part
PREAMBLE_MAX_BYTES = 64 * 1024

FileBytes = bytes | bytearray | memoryview
_PREAMBLE, _AFTER_DELIMITER, _HEADERS, _FIELD, _FILE, _SKIP, _DONE = range(7)


@dataclass(frozen=True)
class FormFile:
    field: str
    filename: str
    content_type: str
    size: int


def form_boundary(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` Content-Type, or None for any other type."""
    try:
        kind, parameters = parse_header_parameters(content_type)
    except ValueError:  # an RFC 2231 parameter in a charset Python does not know
        return None
    boundary = parameters.get("boundary", "")
    if kind != "multipart/form-data" or not 1 <= len(boundary) <= 70 or not boundary.isascii():
        return None
    return boundary.encode("ascii")


class FormStream:
    """Feed it the body piece by piece; afterwards ``complete`` says whether the closing delimiter came, and
    ``fields``, ``file`` and ``problem`` hold what was read. The file part named ``file_field`` (with a
    filename) goes to ``file_write``; any other file part is a problem."""

    def __init__(
        self, boundary: bytes, *, file_field: str, file_write: Callable[[FileBytes], object]
    ) -> None:
        self.file_field, self.file_write = file_field, file_write
        self.fields: list[tuple[str, str]] = []
        self.file: FormFile | None = None
        self.problem: str | None = None
        self._delimiter = b"\r\n--" + boundary
        self._keep = len(self._delimiter) - 1  # what may be the start of a delimiter cut by the piece's end
        self._buffer = bytearray(b"\r\n")  # the first delimiter, too, as if it followed a line
        self._state = _PREAMBLE
        self._seen = 0  # bytes of preamble, or of text fields so far
        self._part: tuple[str, str, str] = ("", "", "")  # name, filename, content type
        self._file_size = 0
        self._scanned = 0  # how far a field or a part's headers were searched for their end already

    @property
    def complete(self) -> bool:
        return self._state == _DONE and self.problem is None

    def feed(self, piece: bytes) -> None:
        if self.problem is not None or self._state == _DONE:
            return  # the epilogue after the closing delimiter is ignored, as RFC 2046 says
        if self._state == _FILE and len(self._buffer) <= self._keep and self._file_piece(piece):
            return
        self._buffer += piece
        while self.problem is None and self._state != _DONE and self._step():
            pass

    def _file_piece(self, piece: bytes) -> bool:
        """The common case, inside the file: write the piece as it is, without copying it into the buffer,
        when no delimiter starts in the buffer or the piece. False: take the general way."""
        if len(piece) <= self._keep or self._delimiter in self._buffer + piece[: self._keep]:
            return False
        if piece.find(self._delimiter) != -1:
            return False
        self._write(self._buffer)
        self._write(memoryview(piece)[: len(piece) - self._keep])
        self._buffer = bytearray(piece[len(piece) - self._keep :])
        return True

    def _step(self) -> bool:
        """One step of the state machine on the buffer; False when it needs more bytes."""
        if self._state == _AFTER_DELIMITER:
            return self._after_delimiter()
        if self._state == _HEADERS:
            return self._headers()
        buffer = self._buffer
        at = buffer.find(self._delimiter, self._scanned)
        if self._state == _FIELD:  # kept whole in the buffer until its end has come
            if at == -1:
                # searched once: a field sent in many small pieces is not searched again from its start
                self._scanned = max(0, len(buffer) - self._keep)
                if self._seen + len(buffer) > FIELDS_MAX_BYTES:
                    self.problem = gettext("The form's text fields are longer than 64 KiB together.")
                return False
            self._scanned = 0
            self._field(bytes(buffer[:at]))
        else:  # the file written, the preamble or an empty file input passed over, up to a possible delimiter
            end = at if at != -1 else max(0, len(buffer) - self._keep)
            if self._state == _FILE:
                self._write(buffer[:end])  # a copy: the buffer is cut next
            elif self._state == _PREAMBLE:
                self._seen += end
                if self._seen > PREAMBLE_MAX_BYTES:
                    self.problem = gettext("The form is malformed: no boundary line in its first 64 KiB.")
            if at == -1:
                del buffer[:end]
                return False
            if self._state == _FILE:
                name, filename, content_type = self._part
                self.file = FormFile(name, filename, content_type, self._file_size)
            if self._state == _PREAMBLE:
                self._seen = 0  # from here on it counts the text fields
        del buffer[: at + len(self._delimiter)]
        self._state = _AFTER_DELIMITER
        return self.problem is None

    def _after_delimiter(self) -> bool:
        buffer = self._buffer
        if buffer[:2] == b"--":
            self._state = _DONE
            return True
        padding = len(buffer) - len(buffer.lstrip(b" \t"))  # transport padding, which RFC 2046 allows
        del buffer[:padding]
        if len(buffer) < 2:
            return False
        if buffer[:2] != b"\r\n":
            self.problem = gettext("The form is malformed: a boundary line is followed by other text.")
            return False
        del buffer[:2]
        self._state = _HEADERS
        return True

    def _headers(self) -> bool:
        if self._buffer[:2] == b"\r\n":  # no header at all
            self.problem = gettext("The form is malformed: a part has no Content-Disposition form-data name.")
            return False
        end = self._buffer.find(b"\r\n\r\n", self._scanned)
        if end == -1 or end > HEADERS_MAX_BYTES:
            self._scanned = max(0, len(self._buffer) - 3)
            if len(self._buffer) > HEADERS_MAX_BYTES:
                self.problem = gettext("The form is malformed: a part's headers are longer than 8 KiB.")
            return False
        self._scanned = 0
        self._part_begin(bytes(self._buffer[:end]))
        del self._buffer[: end + 4]
        return True

    def _field(self, data: bytes) -> None:
        self._seen += len(data)
        if self._seen > FIELDS_MAX_BYTES:
            self.problem = gettext("The form's text fields are longer than 64 KiB together.")
            return
        if len(self.fields) >= FIELDS_MAX_COUNT:
            self.problem = gettext("The form has more than %(count)s text fields.") % {
                "count": FIELDS_MAX_COUNT
            }
            return
        try:
            self.fields.append((self._part[0], data.decode("utf-8")))
        except UnicodeDecodeError:
            self.problem = gettext("The form field %(name)s is not UTF-8 text.") % {"name": self._part[0]}

    def _part_begin(self, raw: bytes) -> None:
        headers: dict[str, str] = {}
        for line in raw.decode("utf-8", errors="replace").split("\r\n"):
            header, colon, value = line.partition(":")
            if colon:
                headers[header.strip().lower()] = value.strip()
        try:
            kind, parameters = parse_header_parameters(headers.get("content-disposition", ""))
        except ValueError:  # an RFC 2231 parameter in a charset Python does not know
            self.problem = gettext(
                "The form is malformed: a part's Content-Disposition header cannot be read."
            )
            return
        name = parameters.get("name")
        if kind != "form-data" or not name:
            self.problem = gettext("The form is malformed: a part has no Content-Disposition form-data name.")
            return
        if headers.get("content-transfer-encoding", "binary").lower() not in {"binary", "8bit", "7bit"}:
            self.problem = gettext("Send the form's parts as they are, without a Content-Transfer-Encoding.")
            return
        filename = parameters.get("filename")
        self._part = (name, filename or "", headers.get("content-type", "application/octet-stream"))
        if filename is None:
            self._state = _FIELD
        elif not filename:
            self._state = _SKIP  # a file input left empty: browsers send it with an empty filename
        elif name != self.file_field or self.file is not None or self._file_size:
            self.problem = gettext("The form may carry one file, its field named %(name)s.") % {
                "name": self.file_field
            }
        else:
            self._state = _FILE

    def _write(self, data: FileBytes) -> None:
        if data:
            self._file_size += len(data)
            self.file_write(data)
