"""The streaming form reader: the same fields and file whatever the pieces the body arrives in, and a clear
problem for every form it does not take."""

from __future__ import annotations

import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, encode_multipart

from tenderhall.core.multipart import FormFile, FormStream, form_boundary

FIELDS = {"entity_id": "17", "bond_amount": "150000.00", "bond_payer_account": "工行 6222 0202 0000 1234 567"}
# the delimiter's own bytes, cut short, inside the file: they must be written, not taken for its end
FILE = b"\r\n--" + BOUNDARY.encode()[:-1] + b"x\r\n-" + bytes(range(256)) * 300 + b"\r\n--"


def form(**extra: object) -> bytes:
    data: dict[str, object] = {
        **FIELDS,
        "envelope": SimpleUploadedFile("bid.p7m", FILE, "application/pkcs7-mime"),
        **extra,
    }
    return encode_multipart(BOUNDARY, data)


def read(body: bytes, cuts: list[int]) -> tuple[FormStream, bytes]:
    written = bytearray()
    stream = FormStream(BOUNDARY.encode(), file_field="envelope", file_write=written.extend)
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        stream.feed(body[start:end])
    return stream, bytes(written)


@pytest.mark.parametrize("piece", [1, 2, 7, 61, 64 * 1024, 10**9])
def test_the_fields_and_the_file_are_read_whatever_the_pieces(piece):
    body = b"a preamble to ignore\r\n" + form() + b"\r\nan epilogue to ignore"
    stream, written = read(body, list(range(piece, len(body), piece)))
    assert stream.problem is None
    assert stream.complete
    assert stream.fields == list(FIELDS.items())
    assert written == FILE
    assert stream.file == FormFile("envelope", "bid.p7m", "application/pkcs7-mime", len(FILE))


def test_every_cut_around_the_file_end_and_random_cuts_read_the_same():
    body = form()
    end = body.index(FILE) + len(FILE)
    generator = random.Random(7)  # noqa: S311  # cut points, not secrets
    cuts = [[at] for at in range(end - 80, end + 80)]
    cuts += [sorted(generator.sample(range(1, len(body)), 40)) for _ in range(50)]
    for points in cuts:
        stream, written = read(body, points)
        assert (stream.complete, stream.fields, written) == (True, list(FIELDS.items()), FILE), points


def test_an_empty_file_input_is_passed_over():
    empty = (
        b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="other"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    stream, written = read(empty + encode_multipart(BOUNDARY, FIELDS), [])
    assert (stream.complete, stream.file, written, stream.fields) == (True, None, b"", list(FIELDS.items()))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (form()[:-40], None),  # cut off: incomplete, no problem yet
        (
            form(second=SimpleUploadedFile("b.p7m", b"x")),
            "The form may carry one file, its field named envelope.",
        ),
        (
            encode_multipart(BOUNDARY, {"note": "x" * (65 * 1024)}),
            "The form's text fields are longer than 64 KiB together.",
        ),
        (
            b"--"
            + BOUNDARY.encode()
            + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\n\xff\xfe\r\n--'
            + BOUNDARY.encode()
            + b"--\r\n",
            "The form field a is not UTF-8 text.",
        ),
        (
            b"--"
            + BOUNDARY.encode()
            + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n--"
            + BOUNDARY.encode()
            + b"--",
            "The form is malformed: a part has no Content-Disposition form-data name.",
        ),
        (
            b"--" + BOUNDARY.encode() + b"\r\nX-Long: " + b"y" * 9000 + b"\r\n\r\n",
            "The form is malformed: a part's headers are longer than 8 KiB.",
        ),
        (b"no boundary at all " * 4000, "The form is malformed: no boundary line in its first 64 KiB."),
        (
            b"--" + BOUNDARY.encode() + b"junk\r\n",
            "The form is malformed: a boundary line is followed by other text.",
        ),
        (
            b"--"
            + BOUNDARY.encode()
            + b'\r\nContent-Disposition: form-data; name="envelope"; filename="b"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--" + BOUNDARY.encode() + b"--",
            "Send the form's parts as they are, without a Content-Transfer-Encoding.",
        ),
    ],
)
def test_a_form_it_does_not_take_is_incomplete_or_names_its_problem(body, problem):
    stream, _written = read(body, list(range(1000, len(body), 1000)))
    assert stream.problem == problem
    assert not stream.complete


def test_too_many_fields_is_a_problem():
    body = encode_multipart(BOUNDARY, {f"f{n}": "1" for n in range(101)})
    stream, _written = read(body, [])
    assert stream.problem == "The form has more than 100 text fields."


def test_transport_padding_after_a_boundary_line_is_allowed():
    # RFC 2046: spaces or tabs may follow a boundary line; no common client sends them, the rule allows them
    boundary = BOUNDARY.encode()
    body = form().replace(b"--" + boundary + b"\r\n", b"--" + boundary + b" \t \r\n")
    stream, written = read(body, list(range(1, len(body), 3)))
    assert (stream.complete, stream.fields, written) == (True, list(FIELDS.items()), FILE)


@pytest.mark.parametrize(
    ("part", "problem"),
    [
        (b"\r\nvalue", "The form is malformed: a part has no Content-Disposition form-data name."),
        (
            b"Content-Disposition: form-data; name=\"envelope\"; filename*=x-bogus''a.p7m\r\n\r\nvalue",
            "The form is malformed: a part's Content-Disposition header cannot be read.",
        ),
    ],
)
def test_a_part_without_readable_headers_is_a_problem(part, problem):
    boundary = BOUNDARY.encode()
    stream, _written = read(b"--" + boundary + b"\r\n" + part + b"\r\n--" + boundary + b"--\r\n", [])
    assert stream.problem == problem


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        (f"multipart/form-data; boundary={BOUNDARY}", BOUNDARY.encode()),
        ('multipart/form-data; boundary="a b"', b"a b"),
        ("multipart/mixed; boundary=abc", None),
        ("multipart/form-data", None),
        ("application/cms", None),
        ("multipart/form-data; boundary=" + "a" * 71, None),
        ("multipart/form-data; boundary*=x-bogus''b", None),
    ],
)
def test_the_boundary_comes_from_a_form_content_type_only(content_type, boundary):
    assert form_boundary(content_type) == boundary
