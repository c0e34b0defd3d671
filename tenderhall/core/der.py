"""A minimal DER walk: the headers of elements in a buffer, without copying their contents. Pure.

asn1crypto copies the contents of every constructed element it parses, so a 10 MB envelope or signed
package would be copied once per level of nesting. The envelope and opening code use this walk to find the
one large element (the ciphertext, the signed content), take it as a ``memoryview``, and let asn1crypto parse
the rest with that element emptied ("hollow"). Only what DER allows is read: one-byte tags and definite
lengths; anything else (BER's indefinite lengths, high tag numbers) makes the walk give up and the caller
parse the whole structure with asn1crypto as before.
"""

from __future__ import annotations

from typing import NamedTuple

SEQUENCE, SET, OID, OCTET_STRING = 0x30, 0x31, 0x06, 0x04
CONTEXT_0_CONSTRUCTED, CONTEXT_0_PRIMITIVE = 0xA0, 0x80
_MAX_LENGTH_OCTETS = 4  # 4 GiB: more than any envelope the platform takes


class Element(NamedTuple):
    tag: int
    offset: int  # where the element (its tag) starts
    start: int  # where its contents start
    end: int  # where it ends


def der_element(data: memoryview, offset: int, end: int) -> Element | None:
    """The element at ``offset``, if it is DER with a one-byte tag and ends by ``end``."""
    if offset + 2 > end:
        return None
    tag, first = data[offset], data[offset + 1]
    if tag & 0x1F == 0x1F or first == 0x80:  # a high tag number, or an indefinite length
        return None
    start = offset + 2
    if first & 0x80:
        count = first & 0x7F
        if count > _MAX_LENGTH_OCTETS or start + count > end:
            return None
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    else:
        length = first
    return Element(tag, offset, start, start + length) if start + length <= end else None


def der_children(data: memoryview, parent: Element) -> list[Element] | None:
    """The children of a constructed element, in order; None if any is not plain DER."""
    children = []
    position = parent.start
    while position < parent.end:
        child = der_element(data, position, parent.end)
        if child is None:
            return None
        children.append(child)
        position = child.end
    return children


def der_whole(data: memoryview, tag: int) -> Element | None:
    """The element that is all of ``data``, if it has ``tag``."""
    element = der_element(data, 0, len(data))
    return element if element is not None and element.tag == tag and element.end == len(data) else None


def der_encode(tag: int, contents: bytes) -> bytes:
    """One DER element (a one-byte tag)."""
    length = len(contents)
    if length < 0x80:
        header = bytes([tag, length])
    else:
        encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(encoded)]) + encoded
    return header + contents
