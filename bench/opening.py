"""Opening: decrypt and verify ``count`` sealed bids of ``size`` bytes with the platform's unsealing
(``tenderhall.opening.unseal.bid_unseal``: AES-GCM, the SignedData, the signature, the bid form).

Baselines, same run, same bytes: the raw primitives alone (AES-256-GCM decryption of the ciphertext, SHA-256
of the package, the RSA signature check over the signed attributes; everything they need cut out of the
envelopes beforehand, untimed), and a loop of ``openssl cms -decrypt`` (one process per bid, as a script
would do it).

    python -m bench.opening --count 200 --size 10485760 [--output FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import secrets
import subprocess
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import Figure, Target, figures_write


def bids_make(count: int, size: int, work: Path) -> list[dict[str, Any]]:
    """``count`` bids sealed with the tenderhall client (AES-256-GCM, RSA-OAEP), each with its content key
    (unwrapped beforehand, as the bidder does before the opening) and its file for openssl."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from tenderhall.accounts.demo_ca import demo_ca_load_or_create
    from tenderhall.bids.client import bid_seal
    from tenderhall.bids.envelope import content_key_unwrap, envelope_inspect, recipient_for
    from tenderhall.core import clock

    now = clock.now()
    ca = demo_ca_load_or_create(work / "demo-ca", now=now - timedelta(days=1))
    keys = {}
    for usage in ("signing", "encryption"):
        key_pem, cert_pem = ca.issue_key_and_certificate(
            common_name="江城建工集团有限公司", serial_number="91420100MA000001X0", usage=usage, now=now
        )
        (work / f"{usage}.key.pem").write_bytes(key_pem)
        (work / f"{usage}.cert.pem").write_bytes(cert_pem)
        keys[usage] = (
            serialization.load_pem_private_key(key_pem, None),
            x509.load_pem_x509_certificate(cert_pem),
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("bid.json", b'{"duration_days":180,"price":"8765432.10"}')
        archive.writestr("drawings.bin", secrets.token_bytes(max(0, size - 4096)))
    package = buffer.getvalue()
    signing_key, signing_certificate = keys["signing"]
    encryption_key, encryption_certificate = keys["encryption"]
    bids = []
    for n in range(count):
        envelope = bid_seal(
            package=package,
            signing_key=signing_key,  # type: ignore[arg-type]  # an RSA key from the demo CA
            signing_certificate=signing_certificate,
            recipients=[encryption_certificate],
        )
        recipient = recipient_for(
            envelope_inspect(envelope), encryption_certificate.public_bytes(serialization.Encoding.DER)
        )
        path = work / f"bid{n}.p7m"
        path.write_bytes(envelope)
        bids.append(
            {
                "envelope": envelope,
                "path": path,
                "key": content_key_unwrap(recipient, encryption_key),  # type: ignore[arg-type]  # RSA
            }
        )
    return bids


def primitives_of(bid: dict[str, Any]) -> dict[str, Any]:
    """What the raw primitives take, cut out of the envelope and its signed content (untimed)."""
    from asn1crypto import algos as asn1_algos
    from asn1crypto import cms as asn1_cms
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    content = asn1_cms.ContentInfo.load(bid["envelope"])["content"]
    encrypted = content["auth_encrypted_content_info"]
    parameters = encrypted["content_encryption_algorithm"]["parameters"].dump()
    nonce = asn1_algos.CcmParams.load(parameters)["aes_nonce"].native  # RFC 5084 GCMParameters' shape
    sealed = encrypted["encrypted_content"].native + content["mac"].native
    signed = asn1_cms.ContentInfo.load(AESGCM(bid["key"]).decrypt(nonce, sealed, None))["content"]
    signer = signed["signer_infos"][0]
    attributes = signer["signed_attrs"].dump(force=True)
    return {
        "key": bid["key"],
        "nonce": nonce,
        "sealed": sealed,
        "signed_attrs": b"\x31" + attributes[1:],
        "signature": signer["signature"].native,
        "public_key": signed["certificates"][0].chosen.public_key.dump(),
    }


def primitives_run(pieces: list[dict[str, Any]]) -> float:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    public_keys = [serialization.load_der_public_key(p["public_key"]) for p in pieces]
    started = time.perf_counter()
    for piece, public_key in zip(pieces, public_keys, strict=True):
        plaintext = AESGCM(piece["key"]).decrypt(piece["nonce"], piece["sealed"], None)
        hashlib.sha256(plaintext).digest()  # the package is nearly all of the plaintext
        public_key.verify(  # type: ignore[union-attr, call-arg]  # an RSA key
            piece["signature"], piece["signed_attrs"], padding.PKCS1v15(), hashes.SHA256()
        )
    return time.perf_counter() - started


def run(*, count: int, size: int, work: Path) -> list[Figure]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from tenderhall.opening.unseal import bid_unseal

    bids = bids_make(count, size, work)
    pieces = [primitives_of(bid) for bid in bids]
    bid_unseal(bids[0]["envelope"], content_key=bids[0]["key"])  # warm
    primitives = primitives_run(pieces)
    started = time.perf_counter()
    for bid in bids:
        unsealed = bid_unseal(bid["envelope"], content_key=bid["key"])
        assert unsealed.price is not None
    platform = time.perf_counter() - started
    started = time.perf_counter()
    for bid in bids:
        subprocess.run(
            [
                "openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(bid["path"]),
                "-recip", str(work / "encryption.cert.pem"), "-inkey", str(work / "encryption.key.pem"),
                "-out", os.devnull,
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    openssl = time.perf_counter() - started
    details = {
        "bids": count,
        "envelope_bytes": len(bids[0]["envelope"]),
        "platform_seconds": round(platform, 3),
        "primitives_seconds": round(primitives, 3),
        "openssl_seconds": round(openssl, 3),
        "what": "bid_unseal: AES-256-GCM, SignedData, SHA-256, RSA signature, bid.json",
    }
    return [
        Figure(
            name="opening: decrypt and verify, against the raw primitives",
            unit="s",
            value=platform,
            baseline=primitives,
            baseline_name="AES-256-GCM + SHA-256 + RSA signature check on the same bytes",
            target=Target(of="ratio", op="<=", limit=1.3, text="≤ 1.3 × the raw primitives"),
            details=details,
        ),
        Figure(
            name="opening: decrypt and verify, against an openssl cms -decrypt loop",
            unit="s",
            value=platform,
            baseline=openssl,
            baseline_name="a loop of openssl cms -decrypt, one process per bid (decryption only)",
            target=Target(of="ratio", op="<", limit=1.0, text="faster than the openssl loop"),
            details=details,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size", type=int, default=10 * 1024 * 1024)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        figures_write(run(count=options.count, size=options.size, work=Path(work)), options.output)


if __name__ == "__main__":
    main()
