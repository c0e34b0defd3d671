"""Shamir k-of-n over GF(2^521 - 1): splitting, combining, the share encoding and every refusal."""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.core.errors import DomainError
from tenderhall.opening import shamir
from tenderhall.opening.shamir import (
    PRIME,
    CommitmentMismatch,
    SecretInvalid,
    Share,
    ShareChecksumMismatch,
    ShareDuplicate,
    ShareMalformed,
    SharesFromDifferentSplits,
    SharesInconsistent,
    SharesTooFew,
    ThresholdAboveShareCount,
    ThresholdTooLow,
    TooManyShares,
    combine,
    secret_commitment,
    share_decode,
    share_encode,
    split,
)

SECRET_32 = bytes(range(1, 33))
SPLIT_ID = 0x0123456789ABCDEF0123456789ABCDEF


class ScriptedRandom:
    """A random source that returns the given values in order and records what it was asked for."""

    def __init__(self, values: Iterable[int]) -> None:
        self.values = list(values)
        self.bounds: list[int] = []

    def randbelow(self, exclusive_upper_bound: int, /) -> int:
        self.bounds.append(exclusive_upper_bound)
        value = self.values.pop(0)
        assert 0 <= value < exclusive_upper_bound
        return value


def with_checksum(body: str) -> str:
    """An encoded share with a correct checksum, computed here independently of the module."""
    return f"{body}:{hashlib.sha256(body.encode()).digest()[:8].hex()}"


def body_of(encoded: str) -> str:
    return encoded.rsplit(":", 1)[0]


def lagrange_at(points: list[tuple[int, int]], at: int) -> int:
    """The value at ``at`` of the polynomial through ``points``, in GF(p): the tests' own interpolation."""
    total = 0
    for j, (xj, yj) in enumerate(points):
        term = yj
        for m, (xm, _ym) in enumerate(points):
            if m != j:
                term = term * (at - xm) * pow(xj - xm, -1, PRIME) % PRIME
        total = (total + term) % PRIME
    return total


# --- the field ---------------------------------------------------------------------------------------------


def test_the_field_is_the_mersenne_prime_521_and_holds_a_64_byte_block() -> None:
    assert PRIME == 2**521 - 1
    assert PRIME.bit_length() == 521
    assert shamir.ELEMENT_BYTES == 66
    assert 2 ** (8 * shamir.BLOCK_BYTES) < PRIME
    # Fermat check with a few bases (M521 is a known prime; this guards against a typo in the constant).
    assert all(pow(base, PRIME - 1, PRIME) == 1 for base in (2, 3, 5, 7, 11))


# --- split and combine -------------------------------------------------------------------------------------


def test_every_subset_of_k_or_more_shares_of_a_3_of_5_split_recovers_a_32_byte_secret() -> None:
    # given
    shares = split(SECRET_32, k=3, n=5)
    commitment = secret_commitment(SECRET_32)

    # when
    subsets = [subset for size in (3, 4, 5) for subset in itertools.combinations(shares, size)]
    recovered = {combine(subset, commitment=commitment) for subset in subsets}

    # then
    assert len(subsets) == 10 + 5 + 1
    assert recovered == {SECRET_32}
    assert [share.x for share in shares] == [1, 2, 3, 4, 5]
    assert {(share.k, share.n, share.secret_length, share.split_id) for share in shares} == {
        (3, 5, 32, shares[0].split_id)
    }


def test_k_minus_1_shares_are_consistent_with_every_secret() -> None:
    """Two shares of a 3-of-5 split fit any secret: for each candidate there is a third share giving it."""
    # given
    shares = split(SECRET_32, k=3, n=5)
    known = [(share.x, share.ys[0]) for share in shares[:2]]

    for candidate in (b"\x00" * 32, b"\xff" * 32, secrets.token_bytes(32)):
        # when: the third point on the polynomial through (0, candidate) and the two known shares
        third_y = lagrange_at([(0, int.from_bytes(candidate, "big")), *known], at=3)
        forged = Share(split_id=shares[0].split_id, k=3, n=5, x=3, secret_length=32, ys=(third_y,))

        # then
        assert combine([*shares[:2], forged], commitment=None) == candidate


def test_k_minus_1_shares_and_a_fake_share_give_another_secret_that_the_commitment_refuses() -> None:
    # given
    shares = split(SECRET_32, k=3, n=5)
    fake = Share(split_id=shares[0].split_id, k=3, n=5, x=5, secret_length=32, ys=(secrets.randbelow(PRIME),))

    # when / then
    with pytest.raises((CommitmentMismatch, SharesInconsistent)):
        combine([shares[0], shares[1], fake], commitment=secret_commitment(SECRET_32))


def test_a_fake_share_that_still_fits_the_length_is_caught_by_the_commitment_only() -> None:
    # given: the third share moved by 1, so the result is the secret plus a small multiple of 1
    shares = split(SECRET_32, k=3, n=5)
    altered = Share(
        split_id=shares[2].split_id,
        k=3,
        n=5,
        x=3,
        secret_length=32,
        ys=((shares[2].ys[0] + 1) % PRIME,),
    )
    # The Lagrange weight of x=3 among {1, 2, 3} at 0 is 1, so the secret moves by exactly 1.
    expected = (int.from_bytes(SECRET_32, "big") + 1).to_bytes(32, "big")

    # when
    unchecked = combine([shares[0], shares[1], altered], commitment=None)

    # then
    assert unchecked == expected
    with pytest.raises(CommitmentMismatch) as caught:
        combine([shares[0], shares[1], altered], commitment=secret_commitment(SECRET_32))
    assert caught.value.code == "shamir_commitment_mismatch"
    assert caught.value.details == {"x": [1, 2, 3]}


def test_a_random_wrong_share_in_a_long_secret_is_refused_as_inconsistent_without_a_commitment() -> None:
    # given: 1800 bytes = 29 blocks; a random value fits 64 bytes with probability 2^-9 per block
    secret = secrets.token_bytes(1800)
    shares = split(secret, k=3, n=5)
    garbled = Share(
        split_id=shares[0].split_id,
        k=3,
        n=5,
        x=4,
        secret_length=1800,
        ys=tuple(secrets.randbelow(PRIME) for _ in shares[0].ys),
    )

    # when / then
    with pytest.raises(SharesInconsistent) as caught:
        combine([shares[0], shares[1], garbled], commitment=None)
    assert caught.value.code == "shares_inconsistent"
    assert caught.value.details == {"x": [1, 2, 4]}


def test_extra_shares_must_lie_on_the_polynomial_of_the_first_k() -> None:
    # given
    shares = split(SECRET_32, k=3, n=5)
    altered = Share(
        split_id=shares[4].split_id, k=3, n=5, x=5, secret_length=32, ys=((shares[4].ys[0] + 1) % PRIME,)
    )

    # when / then
    with pytest.raises(SharesInconsistent) as caught:
        combine([*shares[:4], altered], commitment=None)
    assert caught.value.details == {"x": 5}
    assert combine(shares[:4], commitment=secret_commitment(SECRET_32)) == SECRET_32


def test_coefficients_are_drawn_uniformly_from_the_whole_field_and_zero_is_allowed() -> None:
    # given: a source that answers 0 for every coefficient, for a 2-block secret
    secret = bytes(range(100))
    rng = ScriptedRandom([SPLIT_ID] + [0] * 4)

    # when
    shares = split(secret, k=3, n=4, rng=rng)

    # then: the split id from 2^128, then k - 1 coefficients per block, each from [0, p)
    assert rng.bounds == [2**128, PRIME, PRIME, PRIME, PRIME]
    # all-zero coefficients are kept (a constant polynomial), not redrawn
    blocks = (int.from_bytes(secret[:64], "big"), int.from_bytes(secret[64:], "big"))
    assert [share.ys for share in shares] == [blocks] * 4
    assert combine(shares[1:], commitment=secret_commitment(secret)) == secret


def test_n_may_be_255_and_any_two_of_a_2_of_255_split_recover_the_secret() -> None:
    shares = split(SECRET_32, k=2, n=255)

    assert [share.x for share in shares] == list(range(1, 256))
    assert combine([shares[253], shares[254]], commitment=secret_commitment(SECRET_32)) == SECRET_32
    assert combine([shares[0], shares[128]], commitment=None) == SECRET_32


@settings(max_examples=60, deadline=None)
@given(
    secret=st.binary(min_size=1, max_size=600),
    k=st.integers(min_value=2, max_value=6),
    extra=st.integers(min_value=0, max_value=4),
    data=st.data(),
)
def test_any_k_shares_recover_any_secret_up_to_600_bytes_through_the_text_encoding(
    secret: bytes, k: int, extra: int, data: st.DataObject
) -> None:
    # given
    n = k + extra
    shares = split(secret, k=k, n=n)
    chosen = data.draw(st.permutations(shares))[: data.draw(st.integers(min_value=k, max_value=n))]

    # when
    decoded = [share_decode(share_encode(share)) for share in chosen]

    # then
    assert decoded == chosen
    assert combine(decoded, commitment=secret_commitment(secret)) == secret
    assert all(len(share.ys) == -(-len(secret) // 64) for share in shares)


@settings(max_examples=40, deadline=None)
@given(secret=st.binary(min_size=1, max_size=200), k=st.integers(min_value=2, max_value=5))
def test_k_minus_1_shares_with_any_fake_kth_share_never_pass_the_commitment(secret: bytes, k: int) -> None:
    shares = split(secret, k=k, n=k + 1)
    fake = Share(
        split_id=shares[0].split_id,
        k=k,
        n=k + 1,
        x=k + 1,
        secret_length=len(secret),
        ys=tuple(secrets.randbelow(PRIME) for _ in shares[0].ys),
    )

    with pytest.raises((CommitmentMismatch, SharesInconsistent)):
        combine([*shares[: k - 1], fake], commitment=secret_commitment(secret))


# --- refusals of split and combine -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "error", "code"),
    [
        (1, 5, ThresholdTooLow, "shamir_threshold_too_low"),
        (0, 5, ThresholdTooLow, "shamir_threshold_too_low"),
        (6, 5, ThresholdAboveShareCount, "shamir_threshold_above_share_count"),
        (3, 256, TooManyShares, "shamir_too_many_shares"),
    ],
)
def test_split_refuses_thresholds_that_make_no_sound_k_of_n_split(
    k: int, n: int, error: type[DomainError], code: str
) -> None:
    with pytest.raises(error) as caught:
        split(SECRET_32, k=k, n=n)

    assert caught.value.code == code
    assert caught.value.status == 422


@pytest.mark.parametrize("length", [0, shamir.MAX_SECRET_BYTES + 1])
def test_split_refuses_an_empty_or_oversized_secret(length: int) -> None:
    with pytest.raises(SecretInvalid) as caught:
        split(b"\x01" * length, k=2, n=3)

    assert caught.value.code == "shamir_secret_invalid"


def test_combine_refuses_fewer_than_k_shares() -> None:
    shares = split(SECRET_32, k=3, n=5)

    with pytest.raises(SharesTooFew) as caught:
        combine(shares[:2], commitment=None)
    assert caught.value.code == "shares_too_few"
    assert caught.value.details == {"given": 2, "needed": 3}
    with pytest.raises(SharesTooFew):
        combine([], commitment=None)


def test_combine_refuses_a_share_given_twice_even_when_k_distinct_others_are_there() -> None:
    shares = split(SECRET_32, k=3, n=5)

    with pytest.raises(ShareDuplicate) as caught:
        combine([shares[0], shares[1], shares[1], shares[2]], commitment=None)
    assert caught.value.code == "share_duplicate"
    assert caught.value.details == {"x": 2}


def test_combine_refuses_shares_of_two_splits_even_with_the_same_parameters() -> None:
    first = split(SECRET_32, k=3, n=5)
    second = split(SECRET_32, k=3, n=5)

    with pytest.raises(SharesFromDifferentSplits) as caught:
        combine([first[0], first[1], second[2]], commitment=None)
    assert caught.value.code == "shares_from_different_splits"
    assert caught.value.details == {"x": [1, 3]}


@pytest.mark.parametrize(
    "other", [{"k": 2}, {"n": 6}, {"secret_length": 31}], ids=["k", "n", "secret_length"]
)
def test_combine_refuses_shares_whose_parameters_differ(other: dict[str, int]) -> None:
    shares = split(SECRET_32, k=3, n=5)
    fields = {"split_id": shares[0].split_id, "k": 3, "n": 5, "x": 4, "secret_length": 32, "ys": shares[3].ys}
    odd = Share(**{**fields, **other})  # type: ignore[arg-type]  # the dict's values are the right types

    with pytest.raises(SharesFromDifferentSplits):
        combine([shares[0], shares[1], odd], commitment=None)


# --- the share and its encoding ----------------------------------------------------------------------------


def test_a_share_encodes_to_the_documented_line_known_answer() -> None:
    # given: split id 0123…ef, secret 0x05, f(x) = 5 + 1·x
    rng = ScriptedRandom([SPLIT_ID, 1])

    # when
    encoded = [share_encode(share) for share in split(b"\x05", k=2, n=3, rng=rng)]

    # then
    value = base64.b64encode((7).to_bytes(66, "big")).decode()
    assert encoded[1] == with_checksum(
        f"tenderhall-share-v1:0123456789abcdef0123456789abcdef:2:3:2:1:{value}"
    )
    assert encoded[0] == (
        "tenderhall-share-v1:0123456789abcdef0123456789abcdef:2:3:1:1:" + "A" * 86 + "AG:ba79083a4dea2b39"
    )
    assert combine([share_decode(encoded[2]), share_decode(encoded[0])], commitment=None) == b"\x05"


def test_share_decode_accepts_bytes_and_surrounding_whitespace() -> None:
    share = split(SECRET_32, k=2, n=2)[0]
    encoded = share_encode(share)

    assert share_decode(f"  {encoded}\n") == share
    assert share_decode(encoded.encode() + b"\r\n") == share


def test_a_share_keeps_its_values_out_of_its_repr() -> None:
    share = split(SECRET_32, k=2, n=2)[0]

    assert str(share.ys[0]) not in repr(share)
    assert "ys" not in repr(share)


def _valid_body() -> str:
    rng = ScriptedRandom([SPLIT_ID, 1])
    return body_of(share_encode(split(b"\x05", k=2, n=3, rng=rng)[0]))


def _replace_field(index: int, value: str) -> str:
    fields = _valid_body().split(":")
    fields[index] = value
    return with_checksum(":".join(fields))


VALUE_6 = base64.b64encode((6).to_bytes(66, "big")).decode()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tenderhall-share-v2:" + _valid_body().split(":", 1)[1] + ":0000000000000000", "prefix"),
        ("hello", "prefix"),
        (with_checksum(_valid_body() + ":extra"), "fields"),
        (_valid_body(), "fields"),
        (_valid_body() + ":BA79083A4DEA2B39", "checksum"),
        (_valid_body() + ":ba79083a", "checksum"),
        (_replace_field(1, "0123"), "split_id"),
        (_replace_field(1, "0123456789ABCDEF0123456789ABCDEF"), "split_id"),
        (_replace_field(2, "02"), "k"),
        (_replace_field(3, "+3"), "n"),
        (_replace_field(4, ""), "x"),
        (_replace_field(5, "1.0"), "secret_length"),
        (_replace_field(4, "0"), "x"),
        (_replace_field(4, "4"), "x"),
        (_replace_field(5, "0"), "secret_length"),
        (_replace_field(5, "65"), "y_length"),
        (_replace_field(2, "1"), "parameters"),
        (_replace_field(2, "4"), "parameters"),
        (_replace_field(6, VALUE_6.replace("A", "*", 1)), "y_base64"),
        (_replace_field(6, VALUE_6[:-2]), "y_base64"),  # truncated: not a multiple of 4 characters
        (_replace_field(6, "AB=="), "y_base64"),  # non-zero padding bits: not canonical
        (_replace_field(6, base64.b64encode(b"\x00" * 65).decode()), "y_length"),
        (_replace_field(6, base64.b64encode(PRIME.to_bytes(66, "big")).decode()), "y_range"),
        ("tenderhall-share-v1:\x00", "characters"),
        ("x" * (shamir.MAX_SHARE_TEXT + 1), "too_long"),
    ],
)
def test_share_decode_refuses_malformed_input_naming_the_part(text: str, reason: str) -> None:
    with pytest.raises(ShareMalformed) as caught:
        share_decode(text)

    assert caught.value.code == "share_malformed"
    assert caught.value.details["reason"] == reason


def test_share_decode_refuses_bytes_that_are_not_ascii() -> None:
    with pytest.raises(ShareMalformed) as caught:
        share_decode("tenderhall-share-v1:é".encode())

    assert caught.value.details["reason"] == "not_ascii"


def test_share_decode_refuses_a_share_whose_checksum_does_not_match() -> None:
    # given: one character of the value changed, the checksum kept
    encoded = share_encode(split(SECRET_32, k=2, n=3)[0])
    body, checksum = encoded.rsplit(":", 1)
    damaged = body[:-5] + ("B" if body[-5] != "B" else "C") + body[-4:] + ":" + checksum

    # when / then
    with pytest.raises(ShareChecksumMismatch) as caught:
        share_decode(damaged)
    assert caught.value.code == "share_checksum_mismatch"
