"""The trust store: configured CA bundles (several CAs at once) and the demo CA's root."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenderhall.accounts.certificates import load_pem_bundle
from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.trust import (
    TrustStoreError,
    demo_ca_directory,
    demo_ca_from_settings,
    trust_roots_from_settings,
    trust_roots_load,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def openssl_root(directory: Path, name: str, *extensions: str) -> Path:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "30", "-subj", f"/CN={name}",
            *[arg for extension in extensions for arg in ("-addext", extension)],
        ],
        cwd=directory, check=True, capture_output=True,
    )  # fmt: skip
    return directory / f"{name}.pem"


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("cas")
    ca = "basicConstraints=critical,CA:TRUE"
    return {
        "a": openssl_root(directory, "CA A", ca),
        "b": openssl_root(directory, "CA B", ca),
        "c": openssl_root(directory, "CA C", ca),
        "leaf": openssl_root(directory, "Not A CA", "basicConstraints=critical,CA:FALSE"),
    }


def test_several_bundles_of_several_cas_are_all_trusted(cas, tmp_path):
    # given: one bundle with two CAs, another file with a third
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(cas["a"].read_bytes() + cas["b"].read_bytes())
    # when
    roots = trust_roots_load(ca_files=[bundle, cas["c"]], demo_ca_dir=None, now=NOW)
    # then
    assert roots == [*load_pem_bundle(bundle.read_bytes()), *load_pem_bundle(cas["c"].read_bytes())]


def test_a_der_file_is_read_too(cas, tmp_path):
    # given
    der = load_pem_bundle(cas["a"].read_bytes())[0]
    (tmp_path / "a.cer").write_bytes(der)
    # when / then
    assert trust_roots_load(ca_files=[tmp_path / "a.cer"], demo_ca_dir=None, now=NOW) == [der]


def test_a_ca_listed_twice_is_trusted_once(cas):
    # when
    roots = trust_roots_load(ca_files=[cas["a"], cas["a"]], demo_ca_dir=None, now=NOW)
    # then
    assert len(roots) == 1


def test_the_demo_ca_root_comes_last(cas, tmp_path):
    # when
    roots = trust_roots_load(ca_files=[cas["a"]], demo_ca_dir=tmp_path / "demo-ca", now=NOW)
    # then
    assert len(roots) == 2
    assert roots[1] == demo_ca_load_or_create(tmp_path / "demo-ca", now=NOW).root_der


def test_missing_file_is_named(tmp_path):
    # given
    missing = tmp_path / "nowhere.pem"
    # when / then
    with pytest.raises(TrustStoreError, match=rf"names {missing}, which cannot be read: No such file"):
        trust_roots_load(ca_files=[missing], demo_ca_dir=None, now=NOW)


def test_unreadable_file_is_named(cas, tmp_path):
    # given: a directory where a file is expected
    # when / then
    with pytest.raises(TrustStoreError, match=rf"names {tmp_path}, which cannot be read"):
        trust_roots_load(ca_files=[cas["a"], tmp_path], demo_ca_dir=None, now=NOW)


def test_file_without_certificates_is_named(tmp_path):
    # given
    path = tmp_path / "empty.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    # when / then
    with pytest.raises(
        TrustStoreError, match=rf"The trusted CA file {path} is not usable: .*holds no certificate"
    ):
        trust_roots_load(ca_files=[path], demo_ca_dir=None, now=NOW)


def test_end_entity_certificate_in_a_ca_file_is_refused(cas, tmp_path):
    # given
    bundle = tmp_path / "mixed.pem"
    bundle.write_bytes(cas["a"].read_bytes() + cas["leaf"].read_bytes())
    # when / then
    with pytest.raises(
        TrustStoreError, match=r"Certificate 2 in the trusted CA file .* \(CN=Not A CA\) is not a CA"
    ):
        trust_roots_load(ca_files=[bundle], demo_ca_dir=None, now=NOW)


def test_settings_with_the_demo_ca_on(settings, cas):
    # given
    settings.TENDERHALL_TRUSTED_CA_FILES = (cas["a"],)
    settings.TENDERHALL_DEMO_CA = True
    # when
    roots = trust_roots_from_settings(now=NOW)
    # then
    assert demo_ca_directory() == settings.TENDERHALL_DATA_DIR / "demo-ca"
    assert roots == [*load_pem_bundle(cas["a"].read_bytes()), demo_ca_from_settings(now=NOW).root_der]


def test_settings_with_the_demo_ca_off(settings, cas):
    # given
    settings.TENDERHALL_TRUSTED_CA_FILES = (cas["b"],)
    settings.TENDERHALL_DEMO_CA = False
    # when
    roots = trust_roots_from_settings(now=NOW)
    # then
    assert roots == load_pem_bundle(cas["b"].read_bytes())
    assert not demo_ca_directory().exists()


@pytest.mark.parametrize(("mode", "demo_ca"), [("embedded", False), ("production", True)])
def test_demo_ca_is_refused_when_the_settings_do_not_allow_it(settings, mode, demo_ca):
    # given
    settings.TENDERHALL_MODE = mode
    settings.TENDERHALL_DEMO_CA = demo_ca
    # when / then
    with pytest.raises(TrustStoreError, match="The demo CA is off"):
        demo_ca_from_settings(now=NOW)
