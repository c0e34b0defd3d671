"""A small HTTP/1.1 client on asyncio for many concurrent uploads: each request on its own connection, the
body written from memory in 1 MB pieces, the answer read to the end (`Connection: close`). Loopback only."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PIECE = 1024 * 1024


@dataclass
class Upload:
    path: str
    headers: dict[str, str]
    body: Sequence[bytes]  # written in order: e.g. a multipart head, the envelope, the tail

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.body)


@dataclass
class Answer:
    status: int
    body: bytes
    finished: float  # time.perf_counter() when the whole answer had arrived

    def json(self) -> Any:
        return json.loads(self.body)


async def _send(port: int, upload: Upload) -> Answer:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = [f"POST {upload.path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {upload.size}"]
        head += [f"{name}: {value}" for name, value in upload.headers.items()]
        head += ["Connection: close", "", ""]
        writer.write("\r\n".join(head).encode("latin-1"))
        for part in upload.body:
            view = memoryview(part)
            for start in range(0, len(view), PIECE):
                writer.write(view[start : start + PIECE])
                await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    finished = time.perf_counter()
    status_line, _, rest = raw.partition(b"\r\n")
    _headers, _, body = rest.partition(b"\r\n\r\n")
    return Answer(int(status_line.split()[1]), body, finished)


async def _all(port: int, uploads: Sequence[Upload]) -> list[Answer]:
    return list(await asyncio.gather(*(_send(port, upload) for upload in uploads)))


def upload_all(port: int, uploads: Sequence[Upload]) -> tuple[float, list[Answer]]:
    """Send every upload at once; the wall time from the first connection to the last answer."""
    start = time.perf_counter()
    answers = asyncio.run(_all(port, uploads))
    return max(a.finished for a in answers) - start, answers
