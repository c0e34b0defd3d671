"""An envelope from the request to storage: streamed, hashed and checked in one pass, stored whole or not.

The body is read in 1 MB pieces; each is hashed and written while it is in the processor's cache, and only
the envelope's first and last 64 KiB are kept. Those hold all of a DER envelope but its ciphertext (the
recipients, the algorithms, the GCM tag), so the check (``envelope_inspect``) runs on the envelope with its
ciphertext cut to a few bytes (``_shortened``); an envelope that is not such plain DER (BER from ``openssl
cms -encrypt -stream``, say) is read back and checked whole instead.

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
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.utils.translation import gettext

from tenderhall.bids.envelope import EnvelopeInfo, EnvelopeRefused, envelope_inspect
from tenderhall.core.der import CONTEXT_0_PRIMITIVE, Element, der_element, der_encode
from tenderhall.core.errors import DomainError

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


def body_arrived(request: HttpRequest) -> IO[bytes]:
    """The request body once all of it is on the server, so that the clock read next is its arrival.

    Under ASGI (`tenderhall serve`) Django has received the whole body before any view runs; a WSGI server
    hands the view a stream still arriving, so it is spooled first, as Django's ASGI handler does.
    """
    if isinstance(request, ASGIRequest):
        return request  # type: ignore[return-value]  # an HttpRequest reads like a binary file
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115  # returned open
    shutil.copyfileobj(request, spool, CHUNK)
    spool.seek(0)
    return spool


class _Reader:
    """Reads the upload in pieces, hashing and counting each, keeping the first and last ``EDGE`` bytes, and
    refusing the piece that takes it past ``max_size``."""

    def __init__(self, upload: IO[bytes], *, max_size: int) -> None:
        self.upload, self.max_size = upload, max_size
        self.digest, self.size = hashlib.sha256(), 0
        self.head, self.tail = b"", b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.upload.read(size if size and size > 0 else CHUNK)
        self.size += len(chunk)
        if self.size > self.max_size:
            raise EnvelopeTooLarge(
                gettext("An envelope may be at most %(max)s bytes.") % {"max": self.max_size},
                details={"max": self.max_size},
            )
        self.digest.update(chunk)
        if len(self.head) < EDGE:
            self.head += chunk[: EDGE - len(self.head)]
        self.tail = (self.tail + chunk)[-EDGE:] if len(chunk) < EDGE else chunk[-EDGE:]
        return chunk


class _LargeChunks(File):  # type: ignore[type-arg]  # django-stubs: File is generic over its content
    """The reader as a File that storage backends read in ``CHUNK`` pieces."""

    DEFAULT_CHUNK_SIZE = CHUNK


@contextmanager
def _staged(reader: _Reader, name: str) -> Iterator[IO[bytes]]:
    """The upload written out and open for reading again, for the block to check; the file has ``name``
    once the block completes, and nothing is left if it raises."""
    storage = default_storage if isinstance(default_storage, FileSystemStorage) else None
    path = Path(storage.path(name)) if storage is not None else None
    descriptor = None
    if path is not None and hasattr(os, "O_TMPFILE") and _PROC_FD.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # a filesystem without unnamed files takes the general path
            descriptor = os.open(path.parent, os.O_TMPFILE | os.O_RDWR, 0o666)
    if storage is None or path is None or descriptor is None:
        saved = default_storage.save(name, _LargeChunks(reader, name=name))  # type: ignore[arg-type]  # it reads
        try:
            with default_storage.open(saved, "rb") as stored:
                yield stored
        except BaseException:
            default_storage.delete(saved)
            raise
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with open(descriptor, "w+b", closefd=False) as file:  # a descriptor, not a path
            while chunk := reader.read(CHUNK):
                file.write(chunk)
            file.seek(0)
            yield file
        if storage.file_permissions_mode is not None:
            os.fchmod(descriptor, storage.file_permissions_mode)
        # Named once whole and checked: linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N, as open(2) shows for
        # O_TMPFILE (a directory descriptor makes Python call linkat rather than link).
        os.link(_PROC_FD / str(descriptor), path.name, dst_dir_fd=directory)
    finally:
        os.close(directory)
        os.close(descriptor)


@contextmanager
def envelope_received(upload: IO[bytes], *, max_size: int = MAX_ENVELOPE_BYTES) -> Iterator[ReceivedEnvelope]:
    """Stream the upload to storage with its SHA-256 computed in the same pass and check it as an envelope
    (``envelope_inspect``, which refuses anything else); the file is removed unless the caller's block
    completes. An upload over ``max_size`` is refused as the piece that passes it is read
    (``EnvelopeTooLarge``)."""
    reader = _Reader(upload, max_size=max_size)
    name = f"bids/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.p7m"
    with _staged(reader, name) as file:
        info = _inspect_shortened(reader, max_size=max_size) or envelope_inspect(
            file.read(), max_size=max_size
        )
    try:
        yield ReceivedEnvelope(name=name, size=reader.size, sha256=reader.digest.hexdigest(), info=info)
    except BaseException:
        default_storage.delete(name)
        raise


def _inspect_shortened(reader: _Reader, *, max_size: int) -> EnvelopeInfo | None:
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
