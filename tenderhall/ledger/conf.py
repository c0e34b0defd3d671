"""The ledger's settings, each with a default that suits the embedded mode (see docs/ledger.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings


def origin() -> str:
    return str(settings.TENDERHALL_LEDGER_ORIGIN)


def _data_dir() -> Path:
    return Path(settings.TENDERHALL_DATA_DIR) / "ledger"


def log_key_file() -> Path:
    """The log's Ed25519 signing key (PKCS#8 PEM), created on first use with mode 0600."""
    return Path(getattr(settings, "TENDERHALL_LEDGER_KEY_FILE", None) or _data_dir() / "log.key")


def witness_key_file() -> Path:
    """This node's witness (cosigning) key, separate from the log key as tlog-cosignature requires."""
    return Path(getattr(settings, "TENDERHALL_WITNESS_KEY_FILE", None) or _data_dir() / "witness.key")


def witness_name() -> str:
    return str(getattr(settings, "TENDERHALL_WITNESS_NAME", None) or f"{origin()}/witness")


def checkpoint_interval() -> timedelta:
    """How often the in-process integrator signs a checkpoint when leaves are waiting."""
    return timedelta(seconds=float(getattr(settings, "TENDERHALL_LEDGER_CHECKPOINT_INTERVAL", 2.0)))


def witness_quorum() -> int:
    """How many configured witnesses must cosign a checkpoint before it is served as the latest."""
    return int(getattr(settings, "TENDERHALL_LEDGER_WITNESS_QUORUM", 0))


def witness_timeout() -> float:
    return float(getattr(settings, "TENDERHALL_LEDGER_WITNESS_TIMEOUT", 5.0))


def max_leaves_per_checkpoint() -> int:
    return int(getattr(settings, "TENDERHALL_LEDGER_MAX_LEAVES_PER_CHECKPOINT", 100_000))
