"""An envelope from the request to storage: streamed, hashed and checked in one pass, stored whole or not.

The body is read in 1 MB pieces; each is hashed and written while it is in the processor's cache, and only
the envelope's first and last 64 KiB are kept. Those hold all of a DER envelope but its ciphertext (the
recipients, the algorithms, the GCM tag), so the check (``envelope_inspect``) runs on the envelope with its
ciphertext cut to a few bytes (``_shortened``); an envelope that is not such plain DER (BER from ``openssl
cms -encrypt -stream``, say) is read back and checked whole instead.

Under `tenderhall serve` an envelope sent as the request body does not wait for Django to spool it: the
server hands it piece by piece to an ``EnvelopeArrival`` (tenderhall.core.asgi), which writes it to its
unnamed file as it comes; the view then hashes that file through a memory map and checks it the same way.
An envelope sent in a multipart form is received so too (``FormArrival``): the form is read as it arrives
(tenderhall.core.multipart) and its file part written to an ``EnvelopeArrival``.

On a local disk (``FileSystemStorage``, Linux) the envelope is written to an unnamed file (``O_TMPFILE``) in
its final directory and linked under its name only once it is whole and has passed the check: a refused
envelope never appears in storage, and a server killed mid-write leaves nothing. Elsewhere
``default_storage.save`` writes it and a refusal or a failure removes it again. Either way the caller's block
decides at the end: unless it completes (and its transaction commits), the file is removed. A crash between
the file and the row leaves an orphan that `tenderhall bids sweep` removes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import mmap
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext

from tenderhall.bids.envelope import EnvelopeInfo, EnvelopeRefused, envelope_inspect
from tenderhall.core.asgi import RECEIVED_BODY
from tenderhall.core.der import CONTEXT_0_PRIMITIVE, Element, der_element, der_encode
from tenderhall.core.errors import DomainError
from tenderhall.core.multipart import FormFile, FormStream, form_boundary

MAX_ENVELOPE_BYTES = 200 * 1024 * 1024
CHUNK = 1024 * 1024
EDGE = 64 * 1024  # kept from each end of the envelope: all of it but the ciphertext, for any sane envelope
_HEADER = 6  # the longest DER header core.der reads: a tag, a length byte, four length octets
_PROC_FD = Path("/proc/self/fd")


class EnvelopeTooLarge(DomainError):
    code = "envelope_too_large"
    status = 413


@dataclass(frozen=True)
class ReceivedEnvelope:
    name: str  # in default_storage
    size: int
    sha256: str
    info: EnvelopeInfo


def body_arrived(request: HttpRequest) -> EnvelopeBody:
    """The request body once all of it is on the server, so that the clock read next is its arrival.

    Under `tenderhall serve` the envelope route's body is an ``EnvelopeArrival``, already stored and tallied
    (config/asgi.py); under Django's own ASGI handler the whole body is spooled before any view runs; a WSGI
    server hands the view a stream still arriving, so it is spooled first, as Django's ASGI handler does.
    """
    arrival = getattr(request, "scope", {}).get(RECEIVED_BODY)
    if isinstance(arrival, EnvelopeArrival):
        return arrival
    if isinstance(request, ASGIRequest):
        return request  # type: ignore[return-value]  # an HttpRequest reads like a binary file
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115  # returned open
    shutil.copyfileobj(request, spool, CHUNK)
    spool.seek(0)
    return spool


def _too_large(max_size: int) -> EnvelopeTooLarge:
    return EnvelopeTooLarge(
        gettext("An envelope may be at most %(max)s bytes.") % {"max": max_size}, details={"max": max_size}
    )


class _Tally:
    """The size, SHA-256 and first and last ``EDGE`` bytes of what passes through, refusing the piece that
    takes it past ``max_size``."""

    def __init__(self, *, max_size: int) -> None:
        self.max_size = max_size
        self.digest, self.size = hashlib.sha256(), 0
        self.head, self.tail = b"", b""

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_size:
            raise _too_large(self.max_size)
        self.digest.update(chunk)
        if len(self.head) < EDGE:
            self.head += chunk[: EDGE - len(self.head)]
        self.tail = (self.tail + chunk)[-EDGE:] if len(chunk) < EDGE else chunk[-EDGE:]


class _Reader(_Tally):
    """Reads the upload in pieces, tallying each."""

    def __init__(self, upload: IO[bytes], *, max_size: int) -> None:
        super().__init__(max_size=max_size)
        self.upload = upload

    def read(self, size: int = -1) -> bytes:
        chunk = self.upload.read(size if size and size > 0 else CHUNK)
        self.add(chunk)
        return chunk


class _LargeChunks(File):  # type: ignore[type-arg]  # django-stubs: File is generic over its content
    """The reader as a File that storage backends read in ``CHUNK`` pieces."""

    DEFAULT_CHUNK_SIZE = CHUNK


def _local_path(name: str) -> Path | None:
    """Where ``name`` lives on the local disk, if storage is a local disk that has unnamed files."""
    if not isinstance(default_storage, FileSystemStorage) or not hasattr(os, "O_TMPFILE"):
        return None
    return Path(default_storage.path(name)) if _PROC_FD.is_dir() else None


def _unnamed_file(path: Path) -> int | None:
    """A descriptor of a new unnamed file (``O_TMPFILE``) in ``path``'s directory; None where the
    filesystem has none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return os.open(path.parent, os.O_TMPFILE | os.O_RDWR, 0o666)
    except OSError:
        return None


def _name_file(descriptor: int, path: Path) -> None:
    """Give the unnamed file ``descriptor`` its name ``path``, with storage's permissions."""
    mode = default_storage.file_permissions_mode  # type: ignore[attr-defined]  # a FileSystemStorage
    if mode is not None:
        os.fchmod(descriptor, mode)
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N, as open(2) shows for O_TMPFILE (a directory
        # descriptor makes Python call linkat rather than link).
        os.link(_PROC_FD / str(descriptor), path.name, dst_dir_fd=directory)
    finally:
        os.close(directory)


@contextmanager
def _staged(reader: _Reader, name: str) -> Iterator[IO[bytes]]:
    """The upload written out and open for reading again, for the block to check; the file has ``name``
    once the block completes, and nothing is left if it raises."""
    path = _local_path(name)
    descriptor = _unnamed_file(path) if path is not None else None
    if path is None or descriptor is None:
        try:
            saved = default_storage.save(name, _LargeChunks(reader, name=name))  # type: ignore[arg-type]  # it reads
        except BaseException:  # refused or cut off while writing: storage keeps what it had written
            with contextlib.suppress(Exception):
                default_storage.delete(name)
            raise
        try:
            with default_storage.open(saved, "rb") as stored:
                yield stored
        except BaseException:
            default_storage.delete(saved)
            raise
        return
    try:
        with open(descriptor, "w+b", closefd=False) as file:  # a descriptor, not a path
            while chunk := reader.read(CHUNK):
                file.write(chunk)
            file.seek(0)
            yield file
        _name_file(descriptor, path)  # named once whole and checked
    finally:
        os.close(descriptor)


class EnvelopeArrival:
    """An envelope sent as a request body, received straight from the server (``core.asgi``) into an unnamed
    file in its final directory: no spooled copy of the body.

    The server's event loop receives every upload, so it only writes and counts here; the SHA-256 and the
    check run in the view's thread (``envelope_received``), which maps the file and hashes the page cache in
    place, in parallel with the loop receiving the others. It is also the request's body stream (Django
    closes it when the response is done). ``envelope_received`` checks it and names the file; if nothing
    does, closing it leaves nothing behind. A body past ``MAX_ENVELOPE_BYTES`` is no longer written once it
    passes the limit, and refused when checked.
    """

    def __init__(self, name: str, path: Path, descriptor: int) -> None:
        self.name, self.path = name, path
        # unbuffered: each piece goes straight to the kernel; owned, closed by close()
        self.file = open(descriptor, "w+b", buffering=0)  # noqa: SIM115
        self.size, self.max_size = 0, MAX_ENVELOPE_BYTES
        self._closing = threading.Lock()

    @classmethod
    def begin(cls, scope: Mapping[str, Any] | None = None) -> EnvelopeArrival | None:  # a receiver factory
        """A new arrival, or None where storage is not a local disk with unnamed files (the body is then
        spooled by Django and streamed to storage as any other upload)."""
        name = _new_name()
        path = _local_path(name)
        descriptor = _unnamed_file(path) if path is not None else None
        if path is None or descriptor is None:
            return None
        return cls(name, path, descriptor)

    def write(self, piece: bytes | bytearray | memoryview) -> None:
        self.size += len(piece)
        if self.size <= self.max_size:
            rest = memoryview(piece)
            while rest:  # an unbuffered write may take less than all
                written = self.file.write(rest)
                if not written:
                    raise OSError(errno.EIO, "the envelope file took no more bytes")
                rest = rest[written:]
        elif self.size - len(piece) <= self.max_size:
            self.file.truncate(0)  # too large: what came is not kept, the rest is only counted

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.file.seek(offset, whence)

    def close(self) -> None:
        with self._closing:
            self.file.close()

    def claimed(self) -> IO[bytes]:
        """A file of the view's own on the arrival's unnamed file. Django closes the arrival when the
        client goes away, even while the view still works on it in its thread; the view's own descriptor
        keeps the file (and its number, which another upload could otherwise be given and have named in
        this one's place). Raises ``RequestAborted`` if the client went away before."""
        with self._closing:
            if self.file.closed:
                raise RequestAborted
            descriptor = os.dup(self.file.fileno())
        return os.fdopen(descriptor, "r+b", buffering=0)  # the caller closes it


class FormArrival:
    """A multipart form (the form route) received straight from the server: its text fields read as they
    come (``core.multipart``), its one file part, the envelope, written to an ``EnvelopeArrival``; no spooled
    copy of the body and no temporary upload file. The request's ``POST`` and ``FILES`` come from ``form``;
    the raw body itself is not kept (reading it gives nothing)."""

    FILE_FIELD = "envelope"

    def __init__(self, boundary: bytes, arrival: EnvelopeArrival) -> None:
        self.arrival = arrival
        self.stream = FormStream(boundary, file_field=self.FILE_FIELD, file_write=arrival.write)

    @classmethod
    def begin(cls, scope: Mapping[str, Any]) -> FormArrival | None:
        """A new arrival for a ``multipart/form-data`` body; None for any other (Django reads it as before)
        or where storage cannot take an ``EnvelopeArrival``."""
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"")
        boundary = form_boundary(content_type.decode("latin-1"))
        arrival = EnvelopeArrival.begin() if boundary is not None else None
        return cls(boundary, arrival) if boundary is not None and arrival is not None else None

    def write(self, piece: bytes) -> None:
        self.stream.feed(piece)

    def read(self, size: int = -1) -> bytes:  # the body is not kept
        return b""

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return 0

    def close(self) -> None:
        self.arrival.close()

    def form(self) -> tuple[QueryDict, MultiValueDict[str, UploadedFile[bytes]]]:
        """The request's POST and FILES; a form that was cut short or that the stream refused is a 400."""
        stream = self.stream
        if not stream.complete:
            raise FormRefused(
                stream.problem
                or gettext("The form ended before its closing boundary line: send the whole form again.")
            )
        post = QueryDict(mutable=True)
        for name, value in stream.fields:
            post.appendlist(name, value)
        post._mutable = False
        files: MultiValueDict[str, UploadedFile[bytes]] = MultiValueDict()
        if stream.file is not None:
            files.appendlist(stream.file.field, ArrivedFile(self.arrival, stream.file))
        return post, files


class FormRefused(DomainError):
    code = "malformed_form"
    status = 400


class ArrivedFile(UploadedFile):  # type: ignore[type-arg]  # django-stubs: generic over its content
    """The envelope of a form received by ``FormArrival``, as the view's upload: ``envelope_received`` takes
    the ``EnvelopeArrival`` inside, already stored."""

    def __init__(self, arrival: EnvelopeArrival, part: FormFile) -> None:
        # Django keeps os.path.basename of the name and refuses what that leaves empty ("x/", "..")
        kept = os.path.basename(part.filename)  # noqa: PTH119  # Django's own rule ("x/" leaves ""), not Path's
        name = part.filename if kept not in {"", ".", ".."} else "envelope.p7m"
        super().__init__(arrival, name=name, content_type=part.content_type, size=part.size)  # type: ignore[arg-type]  # it reads like a file
        self.arrival = arrival


# the receivers of config/settings.py TENDERHALL_BODY_RECEIVERS
envelope_arrival_begin = EnvelopeArrival.begin
form_arrival_begin = FormArrival.begin

EnvelopeBody = IO[bytes] | EnvelopeArrival | ArrivedFile
"""An envelope on its way in: a stream still to be read, or one already received (``EnvelopeArrival``, or
the envelope of a form received so, ``ArrivedFile``)."""


def _new_name() -> str:
    return f"bids/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.p7m"


@contextmanager
def envelope_received(
    upload: EnvelopeBody, *, max_size: int = MAX_ENVELOPE_BYTES
) -> Iterator[ReceivedEnvelope]:
    """Stream the upload to storage with its SHA-256 computed in the same pass and check it as an envelope
    (``envelope_inspect``, which refuses anything else); the file is removed unless the caller's block
    completes. An upload over ``max_size`` is refused as the piece that passes it is read
    (``EnvelopeTooLarge``). An ``EnvelopeArrival`` (or a form's ``ArrivedFile``) is already stored: it is
    hashed, checked and named."""
    if isinstance(upload, ArrivedFile):
        upload = upload.arrival
    if isinstance(upload, EnvelopeArrival):
        name, limit = upload.name, min(max_size, upload.max_size)
        if upload.size > limit:
            raise _too_large(limit)
        with upload.claimed() as file:
            tally = _tally_of_file(file, max_size=limit)
            info = _inspect_shortened(tally, max_size=max_size) or envelope_inspect(
                _whole_from_ends(tally) or _read_whole(file), max_size=max_size
            )
            _name_file(file.fileno(), upload.path)
    else:
        tally = _Reader(upload, max_size=max_size)
        name = _new_name()
        with _staged(tally, name) as file:
            info = _inspect_shortened(tally, max_size=max_size) or envelope_inspect(
                _whole_from_ends(tally) or file.read(), max_size=max_size
            )
    try:
        yield ReceivedEnvelope(name=name, size=tally.size, sha256=tally.digest.hexdigest(), info=info)
    except BaseException:
        default_storage.delete(name)
        raise


def _tally_of_file(file: IO[bytes], *, max_size: int) -> _Tally:
    """The tally of a whole file, read through a memory map: the SHA-256 reads the page cache in place, in
    one call that releases the interpreter lock, instead of copying the file out piece by piece."""
    tally = _Tally(max_size=max_size)
    if os.fstat(file.fileno()).st_size:
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            tally.add(mapped)  # type: ignore[arg-type]  # a buffer: hashed, measured and sliced like bytes
    return tally


def _read_whole(file: IO[bytes]) -> bytes:
    file.seek(0)
    return file.read()


def _whole_from_ends(tally: _Tally) -> bytes | None:
    """The whole upload when its kept ends hold all of it (up to ``2 * EDGE`` bytes): no need to read it
    back."""
    if tally.size > len(tally.head) + len(tally.tail):
        return None
    rest = tally.size - len(tally.head)
    return tally.head + (tally.tail[-rest:] if rest else b"")


def _inspect_shortened(reader: _Tally, *, max_size: int) -> EnvelopeInfo | None:
    """The check of the envelope from its kept ends, its ciphertext shortened. None when the whole envelope
    must be checked: ``_shortened`` could not rebuild it, what it cut was not the encryptedContent after
    all, or the envelope is refused (the refusal then names the real sizes)."""
    shortened = _shortened(reader.head, reader.tail, reader.size)
    if shortened is None:
        return None
    data, kept, length = shortened
    try:
        info = envelope_inspect(data, max_size=max_size)
    except EnvelopeRefused:
        return None
    if info.encrypted_content_length != kept:
        return None
    return dataclasses.replace(info, encrypted_content_length=length)


def _shortened(head: bytes, tail: bytes, size: int) -> tuple[bytes, int, int] | None:
    """The envelope rebuilt from its first and last bytes with the one element spanning the middle cut to 16
    to 31 bytes (its length modulo 16 kept, for the CBC check): that element must be a ``[0]`` primitive,
    the encryptedContent. Returns the rebuilt DER, the cut length and the real one; None when the envelope
    fits in its ends anyway, is not plain DER (core.der gives up), or has no such element."""
    if size <= len(head) + len(tail):
        return None
    view, tail_start = memoryview(head), size - len(tail)

    def header(offset: int, end: int) -> Element | None:  # only headers within the head are read
        return der_element(view, offset, end) if offset + _HEADER <= len(view) else None

    outer = header(0, size)
    if outer is None or outer.end != size:
        return None
    path = [outer]  # down to the element spanning the middle, through the constructed ones that do
    while path[-1].tag & 0x20:  # constructed
        child = header(path[-1].start, path[-1].end)
        while child is not None and child.end <= len(head):
            child = header(child.end, path[-1].end)
        if child is None:
            return None
        path.append(child)
    leaf, length = path[-1], path[-1].end - path[-1].start
    kept = 16 + length % 16
    if leaf.tag != CONTEXT_0_PRIMITIVE or leaf.end < tail_start or leaf.start + kept > len(head):
        return None
    rebuilt = der_encode(leaf.tag, head[leaf.start : leaf.start + kept])
    for parent, child in zip(reversed(path[:-1]), reversed(path[1:]), strict=True):
        before, after = (
            head[parent.start : child.offset],
            tail[child.end - tail_start : parent.end - tail_start],
        )
        rebuilt = der_encode(parent.tag, before + rebuilt + after)
    return rebuilt, kept, length
