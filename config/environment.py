"""Reading the platform's configuration from the environment, and refusing unsafe production settings.

Pure functions over a mapping, so the rules can be tested without touching ``os.environ``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MODES = ("embedded", "production")
MIN_SECRET_KEY_LENGTH = 50
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigurationError(Exception):
    """The environment asks for something the platform will not run with; the message says what to change."""


@dataclass(frozen=True)
class Environment:
    mode: str
    debug: bool
    data_dir: Path
    database_url: str
    secret_key: str
    allowed_hosts: tuple[str, ...]
    trusted_ca_files: tuple[Path, ...]
    demo_ca: bool
    escrow_ca_file: Path | None
    https: bool
    ledger_origin: str


def parse_bool(name: str, raw: str | None, *, default: bool) -> bool:
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a yes/no value: use 1 or 0, true or false.")


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").replace(",", " ").split() if part.strip())


def _embedded_secret_key(data_dir: Path) -> str:
    """A random key kept in the data directory, so embedded mode never runs on a published default."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    path.write_text(key + "\n", encoding="ascii")
    path.chmod(0o600)
    return key


def read_environment(env: Mapping[str, str], *, base_dir: Path) -> Environment:
    mode = env.get("TENDERHALL_MODE", "embedded").strip().lower()
    if mode not in MODES:
        raise ConfigurationError(f"TENDERHALL_MODE={mode!r} is unknown: use one of {', '.join(MODES)}.")
    production = mode == "production"
    data_dir = Path(env.get("TENDERHALL_DATA_DIR") or base_dir / "var").resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'tenderhall.sqlite3'}"
    secret_key = env.get("TENDERHALL_SECRET_KEY", "")
    if not secret_key and not production:
        secret_key = _embedded_secret_key(data_dir)
    default_hosts = "" if production else "127.0.0.1 localhost [::1] testserver"
    environment = Environment(
        mode=mode,
        debug=parse_bool("TENDERHALL_DEBUG", env.get("TENDERHALL_DEBUG"), default=False),
        data_dir=data_dir,
        database_url=database_url,
        secret_key=secret_key,
        allowed_hosts=_split(env.get("TENDERHALL_ALLOWED_HOSTS", default_hosts)),
        trusted_ca_files=tuple(Path(p) for p in _split(env.get("TENDERHALL_TRUSTED_CA_FILES"))),
        demo_ca=parse_bool("TENDERHALL_DEMO_CA", env.get("TENDERHALL_DEMO_CA"), default=not production),
        escrow_ca_file=Path(env["TENDERHALL_ESCROW_CA_FILE"])
        if env.get("TENDERHALL_ESCROW_CA_FILE")
        else None,
        https=parse_bool("TENDERHALL_HTTPS", env.get("TENDERHALL_HTTPS"), default=production),
        ledger_origin=env.get("TENDERHALL_LEDGER_ORIGIN", "tenderhall.example/ledger"),
    )
    if production:
        problems = production_problems(environment)
        if problems:
            raise ConfigurationError(
                "Refusing to start in production mode:\n" + "\n".join(f"  - {p}" for p in problems)
            )
    return environment


def production_problems(environment: Environment) -> list[str]:
    """Every setting that would make a production deployment unsafe, each with what to do about it."""
    problems: list[str] = []
    if len(environment.secret_key) < MIN_SECRET_KEY_LENGTH or len(set(environment.secret_key)) < 5:
        problems.append(
            f"TENDERHALL_SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters (for example: python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    if environment.debug:
        problems.append("TENDERHALL_DEBUG must be off: debug pages leak settings and data.")
    if not environment.allowed_hosts:
        problems.append("TENDERHALL_ALLOWED_HOSTS must list the host names the platform is served under.")
    if "*" in environment.allowed_hosts:
        problems.append("TENDERHALL_ALLOWED_HOSTS must not contain '*': name the hosts.")
    if not environment.database_url.startswith(("postgres://", "postgresql://")):
        problems.append("DATABASE_URL must point to PostgreSQL (postgresql://user@host:5432/name).")
    if environment.demo_ca:
        problems.append("TENDERHALL_DEMO_CA must be off: the demo CA's key is not protected.")
    if not environment.trusted_ca_files:
        problems.append("TENDERHALL_TRUSTED_CA_FILES must name the PEM files of the trusted CA roots.")
    problems.extend(
        f"TENDERHALL_TRUSTED_CA_FILES names {path}, which does not exist."
        for path in environment.trusted_ca_files
        if not path.is_file()
    )
    if environment.escrow_ca_file is not None and not environment.escrow_ca_file.is_file():
        problems.append(
            f"TENDERHALL_ESCROW_CA_FILE names {environment.escrow_ca_file}, which does not exist."
        )
    if not environment.https:
        problems.append("TENDERHALL_HTTPS must be on: production is served over HTTPS only.")
    return problems
