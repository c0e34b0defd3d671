"""`tenderhall client keygen|csr` and `tenderhall ca issue|root`, checked against the openssl CLI."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tenderhall.accounts.certificates import load_certificate, validate_certificate
from tenderhall.accounts.demo_ca import CLOCK_SKEW
from tenderhall.accounts.management.commands.client import Command as ClientCommand

USCC = "91110000MA01234567"
COMPANY = "示例建设有限公司"
PASSPHRASE_VARIABLE = "TENDERHALL_TEST_KEY_PASSPHRASE"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def openssl(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys made once by `client keygen`: rsa.pem (2048 bits), ec.pem, and an encrypted one."""
    directory = tmp_path_factory.mktemp("keys")
    run("client", "keygen", "--out", str(directory / "rsa.pem"), "--bits", "2048")
    run("client", "keygen", "--out", str(directory / "ec.pem"), "--type", "ec")
    os.environ[PASSPHRASE_VARIABLE] = "correct horse battery staple"
    try:
        run(
            "client",
            "keygen",
            "--out",
            str(directory / "locked.pem"),
            "--type",
            "ec",
            "--passphrase-env",
            PASSPHRASE_VARIABLE,
        )
    finally:
        del os.environ[PASSPHRASE_VARIABLE]
    return directory


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PASSPHRASE_VARIABLE, "correct horse battery staple")
    return PASSPHRASE_VARIABLE


# --- client keygen


def test_keygen_makes_a_3072_bit_rsa_key_by_default(tmp_path):
    # when
    out = run("client", "keygen", "--out", str(tmp_path / "key.pem"))
    # then
    key = serialization.load_pem_private_key((tmp_path / "key.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072
    assert (
        out.splitlines()[0]
        == f"Wrote a rsa-3072 private key (unencrypted, mode 0600) to {tmp_path / 'key.pem'}."
    )


def test_keygen_writes_a_key_only_the_owner_reads_and_openssl_accepts(keys):
    # when
    checked = openssl("pkey", "-in", "rsa.pem", "-check", "-noout", cwd=keys)
    # then
    assert mode(keys / "rsa.pem") == 0o600
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "Key is valid"
    assert (keys / "rsa.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")


def test_keygen_makes_ec_p256_keys(keys):
    # when
    text = openssl("pkey", "-in", "ec.pem", "-noout", "-text", cwd=keys)
    # then
    assert text.returncode == 0, text.stderr
    assert "ASN1 OID: prime256v1" in text.stdout
    assert mode(keys / "ec.pem") == 0o600


def test_keygen_encrypts_with_the_passphrase_from_the_environment(keys, passphrase):
    # when
    with_passphrase = openssl("pkey", "-in", "locked.pem", "-passin", f"env:{passphrase}", "-noout", cwd=keys)
    without = openssl("pkey", "-in", "locked.pem", "-passin", "pass:wrong", "-noout", cwd=keys)
    # then
    assert (keys / "locked.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert with_passphrase.returncode == 0, with_passphrase.stderr
    assert without.returncode != 0


def test_keygen_refuses_to_overwrite_a_file(keys):
    # given
    before = (keys / "rsa.pem").read_bytes()
    # when
    with pytest.raises(CommandError) as caught:
        run("client", "keygen", "--out", str(keys / "rsa.pem"), "--type", "ec")
    # then
    assert (
        str(caught.value)
        == f"{keys / 'rsa.pem'} already exists; choose another file or pass --force to replace it."
    )
    assert (keys / "rsa.pem").read_bytes() == before


def test_keygen_replaces_a_file_with_force(tmp_path):
    # given
    (tmp_path / "keys").mkdir()
    path = tmp_path / "keys" / "key.pem"
    path.write_text("old")
    path.chmod(0o644)
    # when
    run("client", "keygen", "--out", str(path), "--type", "ec", "--force")
    # then
    assert isinstance(
        serialization.load_pem_private_key(path.read_bytes(), password=None), ec.EllipticCurvePrivateKey
    )
    assert mode(path) == 0o600
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["key.pem"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--bits", "1024"], "--bits must be between 2048 and 16384 for an RSA key."),
        (["--type", "ec", "--bits", "2048"], "--bits applies to RSA keys only; EC keys use the P-256 curve."),
        (
            ["--passphrase-env", "TENDERHALL_TEST_UNSET_VARIABLE"],
            "The environment variable TENDERHALL_TEST_UNSET_VARIABLE is not set or empty; "
            "it must hold the passphrase.",
        ),
    ],
)
def test_keygen_refuses_bad_options(tmp_path, arguments, message):
    # when
    with pytest.raises(CommandError) as caught:
        run("client", "keygen", "--out", str(tmp_path / "key.pem"), *arguments)
    # then
    assert str(caught.value) == message
    assert not (tmp_path / "key.pem").exists()


def test_keygen_names_a_missing_directory(tmp_path):
    # when / then
    with pytest.raises(CommandError, match=f"The directory {tmp_path / 'missing'} does not exist."):
        run("client", "keygen", "--out", str(tmp_path / "missing" / "key.pem"), "--type", "ec")


def test_a_refusal_exits_nonzero_with_the_message(keys, tmp_path):
    # given: the real console command, as a bidder runs it
    environment = {**os.environ, "TENDERHALL_DATA_DIR": str(tmp_path), "TENDERHALL_MODE": "embedded"}
    environment.pop("DATABASE_URL", None)
    # when
    result = subprocess.run(
        [sys.executable, "-m", "tenderhall", "client", "keygen", "--out", str(keys / "rsa.pem")],
        cwd=Path(django_settings.BASE_DIR), env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip
    # then
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"CommandError: {keys / 'rsa.pem'} already exists; choose another file or pass --force to replace it."
    )


def test_subcommands_are_listed_in_one_table():
    # then: later subcommands (seal, verify-receipt, unwrap-key ...) are one more entry here
    assert list(ClientCommand.subcommands) == ["keygen", "csr"]


# --- client csr


def test_csr_for_signing_is_accepted_by_openssl(keys, tmp_path):
    # when
    out = run(
        "client", "csr", "--key", str(keys / "rsa.pem"), "--common-name", COMPANY, "--serial-number", USCC,
        "--organization", COMPANY, "--out", str(tmp_path / "req.pem"),
    )  # fmt: skip
    # then
    verified = openssl("req", "-in", "req.pem", "-verify", "-noout", cwd=tmp_path)
    text = openssl("req", "-in", "req.pem", "-noout", "-text", "-nameopt", "utf8", cwd=tmp_path).stdout
    assert verified.returncode == 0, verified.stderr
    assert "verify OK" in verified.stdout + verified.stderr
    assert f"C=CN, O={COMPANY}, CN={COMPANY}, serialNumber={USCC}" in text
    assert (
        "Requested Extensions: X509v3 Basic Constraints: critical CA:FALSE "
        "X509v3 Key Usage: critical Digital Signature, Non Repudiation Signature Algorithm"
    ) in " ".join(text.split())
    assert out.splitlines()[0] == (
        f"Wrote a signing certificate request for serialNumber={USCC},CN={COMPANY},O={COMPANY},C=CN "
        f"to {tmp_path / 'req.pem'}."
    )


def test_csr_for_encryption_asks_for_key_encipherment(keys, tmp_path):
    # when
    run("client", "csr", "--key", str(keys / "rsa.pem"), "--common-name", "张三", "--usage", "encryption",
        "--out", str(tmp_path / "req.pem"))  # fmt: skip
    # then
    text = openssl("req", "-in", "req.pem", "-noout", "-text", cwd=tmp_path).stdout
    assert "X509v3 Key Usage: critical Key Encipherment Signature Algorithm" in " ".join(text.split())
    request = x509.load_pem_x509_csr((tmp_path / "req.pem").read_bytes())
    assert request.is_signature_valid


def test_csr_with_an_encrypted_key(keys, tmp_path, passphrase):
    # when
    run("client", "csr", "--key", str(keys / "locked.pem"), "--passphrase-env", passphrase,
        "--common-name", "李四", "--out", str(tmp_path / "req.pem"))  # fmt: skip
    # then
    assert openssl("req", "-in", "req.pem", "-verify", "-noout", cwd=tmp_path).returncode == 0


def test_csr_for_an_openssl_key(tmp_path):
    # given: a key made by openssl, not by tenderhall
    assert (
        openssl(
            "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "k.pem", cwd=tmp_path
        ).returncode
        == 0
    )
    # when
    run(
        "client",
        "csr",
        "--key",
        str(tmp_path / "k.pem"),
        "--common-name",
        "王五",
        "--out",
        str(tmp_path / "req.pem"),
    )
    # then
    request = x509.load_pem_x509_csr((tmp_path / "req.pem").read_bytes())
    key = serialization.load_pem_private_key((tmp_path / "k.pem").read_bytes(), password=None)
    assert request.public_key() == key.public_key()
    assert openssl("req", "-in", "req.pem", "-verify", "-noout", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    "case",
    [
        (
            "locked.pem",
            [],
            r"locked.pem: Password was not given but private key is encrypted; pass --passphrase-env\.",
        ),
        ("rsa.pem", ["--passphrase-env", PASSPHRASE_VARIABLE], r"rsa.pem: .*; drop --passphrase-env\."),
        (
            "ec.pem",
            ["--usage", "encryption"],
            r"An encryption key must be RSA with at least 2048 bits \(this one is ec-secp256r1\)",
        ),
        ("nothing.pem", [], r"Cannot read the key file .*nothing.pem: No such file or directory\."),
        ("rsa.pem", ["--country", "CHN"], r"The subject is not valid: .*"),
    ],
    ids=[
        "encrypted-key-without-passphrase",
        "passphrase-for-clear-key",
        "ec-for-encryption",
        "no-key",
        "country",
    ],
)
def test_csr_refuses_with_a_message(keys, tmp_path, passphrase, case):
    key, arguments, message = case
    # when
    with pytest.raises(CommandError, match=message):
        run(
            "client",
            "csr",
            "--key",
            str(keys / key),
            "--common-name",
            "张三",
            "--out",
            str(tmp_path / "req.pem"),
            *arguments,
        )
    # then
    assert not (tmp_path / "req.pem").exists()


def test_csr_refuses_a_wrong_passphrase(keys, tmp_path, monkeypatch):
    # given
    monkeypatch.setenv(PASSPHRASE_VARIABLE, "wrong")
    # when / then
    with pytest.raises(
        CommandError, match="is not a PEM private key tenderhall can read, or the passphrase is wrong"
    ):
        run("client", "csr", "--key", str(keys / "locked.pem"), "--passphrase-env", PASSPHRASE_VARIABLE,
            "--common-name", "张三", "--out", str(tmp_path / "req.pem"))  # fmt: skip


def test_csr_refuses_a_common_name_longer_than_x509_allows(keys, tmp_path):
    # when / then
    with pytest.raises(CommandError, match="The subject is not valid"):
        run(
            "client",
            "csr",
            "--key",
            str(keys / "ec.pem"),
            "--common-name",
            "x" * 65,
            "--out",
            str(tmp_path / "r.pem"),
        )


# --- ca issue / ca root (demo CA)


@pytest.fixture
def demo_ca_on(settings):
    settings.TENDERHALL_MODE = "embedded"
    settings.TENDERHALL_DEMO_CA = True
    return settings


def test_keygen_csr_and_demo_ca_issue_end_to_end(keys, tmp_path, demo_ca_on):
    # given
    run("client", "csr", "--key", str(keys / "rsa.pem"), "--common-name", COMPANY, "--serial-number", USCC,
        "--usage", "encryption", "--out", str(tmp_path / "req.pem"))  # fmt: skip
    # when
    out = run("ca", "issue", "--csr", str(tmp_path / "req.pem"), "--usage", "encryption",
              "--out", str(tmp_path / "cert.pem"), "--days", "30")  # fmt: skip
    run("ca", "root", "--out", str(tmp_path / "root.pem"))
    # then
    cert_pem = (tmp_path / "cert.pem").read_bytes()
    info = load_certificate(cert_pem)
    root_der = load_certificate((tmp_path / "root.pem").read_bytes()).der
    assert validate_certificate(
        cert_pem, usage="encryption", trust_roots=[root_der], now=info.not_before + CLOCK_SKEW
    )
    verified = openssl("verify", "-x509_strict", "-CAfile", "root.pem", "cert.pem", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == "cert.pem: OK"
    assert info.subject == f"serialNumber={USCC},CN={COMPANY},C=CN"
    assert info.key_usage == ("keyEncipherment",)
    assert (info.not_after - info.not_before).days == 30
    assert (demo_ca_on.TENDERHALL_DATA_DIR / "demo-ca" / "root.pem").read_bytes() == (
        tmp_path / "root.pem"
    ).read_bytes()
    assert out.startswith(
        f"Wrote a encryption certificate for serialNumber={USCC},CN=示例建设有限公司,C=CN to "
    )


def test_ca_issue_refuses_a_bad_request(tmp_path, demo_ca_on):
    # given
    (tmp_path / "req.pem").write_bytes(b"garbage")
    # when / then
    with pytest.raises(
        CommandError, match=r"req.pem: This is not a readable PKCS#10 certificate request .* \[malformed\]"
    ):
        run(
            "ca",
            "issue",
            "--csr",
            str(tmp_path / "req.pem"),
            "--usage",
            "signing",
            "--out",
            str(tmp_path / "c.pem"),
        )
    assert not (tmp_path / "c.pem").exists()


def test_ca_issue_refuses_days_out_of_range(tmp_path, demo_ca_on):
    # when / then
    with pytest.raises(CommandError, match=r"--days must be between 1 and 3650\."):
        run(
            "ca",
            "issue",
            "--csr",
            "x.pem",
            "--usage",
            "signing",
            "--out",
            str(tmp_path / "c.pem"),
            "--days",
            "0",
        )


@pytest.mark.parametrize(
    ("mode_setting", "demo_ca"), [("embedded", False), ("production", True), ("production", False)]
)
@pytest.mark.parametrize(
    "arguments",
    [["issue", "--csr", "x.pem", "--usage", "signing", "--out", "c.pem"], ["root", "--out", "r.pem"]],
)
def test_ca_is_refused_when_the_demo_ca_is_off(settings, tmp_path, mode_setting, demo_ca, arguments):
    # given
    settings.TENDERHALL_MODE = mode_setting
    settings.TENDERHALL_DEMO_CA = demo_ca
    # when / then
    with pytest.raises(
        CommandError, match=r"The demo CA is off \(TENDERHALL_DEMO_CA=0 or TENDERHALL_MODE=production\)"
    ):
        run("ca", *arguments)
    assert not (settings.TENDERHALL_DATA_DIR / "demo-ca").exists()


def test_ca_root_refuses_to_overwrite(tmp_path, demo_ca_on):
    # given
    (tmp_path / "root.pem").write_text("mine")
    # when / then
    with pytest.raises(CommandError, match="already exists"):
        run("ca", "root", "--out", str(tmp_path / "root.pem"))
    assert (tmp_path / "root.pem").read_text() == "mine"
