"""The minimal DER walk: headers read as asn1crypto writes them, contents never copied, and a clear "give up"
on what is not plain DER."""

from __future__ import annotations

import pytest
from asn1crypto import core as asn1_core

from tenderhall.core.der import Element, der_children, der_element, der_encode, der_whole


class Pair(asn1_core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("name", asn1_core.UTF8String), ("data", asn1_core.OctetString)]  # noqa: RUF012  # asn1crypto's shape


@pytest.mark.parametrize("size", [0, 1, 127, 128, 255, 256, 65_535, 65_536, 1_000_000])
def test_elements_and_lengths_are_read_and_written_as_asn1crypto_does(size):
    der = Pair({"name": "标段", "data": b"\x01" * size}).dump()
    view = memoryview(der)
    outer = der_whole(view, 0x30)
    assert outer is not None
    name, data = der_children(view, outer) or []
    assert (name.tag, bytes(view[name.start : name.end]).decode()) == (0x0C, "标段")
    assert (data.tag, data.end - data.start, data.end) == (0x04, size, len(der))
    assert der_encode(0x04, b"\x01" * size) == bytes(view[data.offset : data.end])
    assert der_encode(0x30, bytes(view[outer.start : outer.end])) == der


def test_the_walk_gives_up_on_what_is_not_plain_der():
    assert der_element(memoryview(b"\x30\x80\x04\x00\x00\x00"), 0, 6) is None  # indefinite length (BER)
    assert der_element(memoryview(b"\x1f\x81\x01\x00"), 0, 4) is None  # a high tag number
    assert der_element(memoryview(b"\x04\x05abc"), 0, 5) is None  # longer than the data
    assert der_element(memoryview(b"\x04\x85\x01\x00\x00\x00\x00"), 0, 7) is None  # 5 length octets
    assert der_whole(memoryview(b"\x04\x01a\x00"), 0x04) is None  # something after the element
    assert der_whole(memoryview(b"\x04\x01a"), 0x30) is None  # another tag
    assert der_children(memoryview(b"\x30\x03\x04\x05a"), Element(0x30, 0, 2, 5)) is None


def test_contents_are_views_not_copies():
    data = bytearray(der_encode(0x30, der_encode(0x04, b"abc")))
    view = memoryview(data)
    (child,) = der_children(view, der_element(view, 0, len(view))) or []  # type: ignore[arg-type]
    contents = view[child.start : child.end]
    data[4] = ord("X")
    assert bytes(contents) == b"Xbc"
