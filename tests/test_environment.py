"""Configuration from the environment: safe embedded defaults, and production refusing unsafe settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.environment import ConfigurationError, read_environment

GOOD_PRODUCTION = {
    "TENDERHALL_MODE": "production",
    "TENDERHALL_SECRET_KEY": "k8Jq2vX9pLm4Rt7Wz1Nb6Yc3Hd5Gf0Se8Ua2Vo4Ki7Mj1Lh9Pg6Qw3Er5Ty8Ui0Op",
    "TENDERHALL_ALLOWED_HOSTS": "ggzy.example.gov.cn",
    "DATABASE_URL": "postgresql://tenderhall@db.internal:5432/tenderhall",
}


def production(tmp_path: Path, **overrides: str) -> dict[str, str]:
    roots = tmp_path / "roots.pem"
    roots.write_text("-----BEGIN CERTIFICATE-----\n")
    return {
        **GOOD_PRODUCTION,
        "TENDERHALL_TRUSTED_CA_FILES": str(roots),
        "TENDERHALL_DATA_DIR": str(tmp_path),
        **overrides,
    }


def test_embedded_defaults_are_sqlite_in_the_data_dir_a_generated_secret_and_loopback_hosts(tmp_path: Path):
    # when
    env = read_environment({"TENDERHALL_DATA_DIR": str(tmp_path)}, base_dir=tmp_path)
    # then
    assert env.mode == "embedded"
    assert env.database_url == f"sqlite:///{tmp_path / 'tenderhall.sqlite3'}"
    assert len(env.secret_key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (
        read_environment({"TENDERHALL_DATA_DIR": str(tmp_path)}, base_dir=tmp_path).secret_key
        == env.secret_key
    )
    assert "127.0.0.1" in env.allowed_hosts
    assert env.demo_ca is True
    assert env.https is False


def test_a_complete_production_configuration_starts(tmp_path: Path):
    env = read_environment(production(tmp_path), base_dir=tmp_path)
    assert (env.mode, env.https, env.demo_ca, env.debug) == ("production", True, False, False)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"TENDERHALL_SECRET_KEY": ""}, "TENDERHALL_SECRET_KEY"),
        ({"TENDERHALL_SECRET_KEY": "x" * 60}, "TENDERHALL_SECRET_KEY"),
        ({"TENDERHALL_DEBUG": "1"}, "TENDERHALL_DEBUG"),
        ({"TENDERHALL_ALLOWED_HOSTS": ""}, "TENDERHALL_ALLOWED_HOSTS must list"),
        ({"TENDERHALL_ALLOWED_HOSTS": "*"}, "must not contain '*'"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL"),
        ({"TENDERHALL_DEMO_CA": "yes"}, "TENDERHALL_DEMO_CA"),
        ({"TENDERHALL_TRUSTED_CA_FILES": ""}, "TENDERHALL_TRUSTED_CA_FILES must name"),
        ({"TENDERHALL_TRUSTED_CA_FILES": "/nonexistent/roots.pem"}, "/nonexistent/roots.pem"),
        ({"TENDERHALL_HTTPS": "0"}, "TENDERHALL_HTTPS"),
    ],
)
def test_production_refuses_an_insecure_setting_and_names_it(
    tmp_path: Path, override: dict[str, str], named: str
):
    with pytest.raises(ConfigurationError) as raised:
        read_environment(production(tmp_path, **override), base_dir=tmp_path)
    assert named in str(raised.value)
    assert str(raised.value).count("\n  - ") == 1


def test_unknown_mode_and_bad_booleans_are_refused(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="TENDERHALL_MODE"):
        read_environment({"TENDERHALL_MODE": "prod", "TENDERHALL_DATA_DIR": str(tmp_path)}, base_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="TENDERHALL_DEBUG='maybe'"):
        read_environment(
            {"TENDERHALL_DEBUG": "maybe", "TENDERHALL_DATA_DIR": str(tmp_path)}, base_dir=tmp_path
        )


def test_the_settings_module_refuses_to_load_in_production_with_defaults(tmp_path: Path):
    import subprocess
    import sys

    # when: a real process loads the settings with nothing configured but the mode
    result = subprocess.run(
        [sys.executable, "-m", "tenderhall", "check"],
        env={"PATH": "/usr/bin:/bin", "TENDERHALL_MODE": "production", "TENDERHALL_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Refusing to start in production mode" in result.stderr
    assert "TENDERHALL_SECRET_KEY" in result.stderr
