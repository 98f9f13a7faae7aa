"""Settings (environment ``ZSLAB_*``), paths under ``$ZSLAB_HOME``, and the runtime file.

One :class:`Settings` object holds everything configurable; nothing is configured by editing
code. The runtime file is how ``zslab up`` tells the SDK, the CLI and the lab extension where
the embedded hub listens and which admin token to use; it is written with mode 0600.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zslab.errors import ConfigError

__all__ = ["RuntimeInfo", "Settings", "default_home", "load_settings"]


def default_home() -> Path:
    """``$XDG_DATA_HOME/zslab``, or ``~/.local/share/zslab``."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "zslab"


class Settings(BaseSettings):
    """Every knob of zslab, read from ``ZSLAB_<NAME>`` environment variables.

    >>> Settings(home="/tmp/zs").database_url
    'sqlite:////tmp/zs/zslab.db'
    """

    model_config = SettingsConfigDict(env_prefix="ZSLAB_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="State directory.")
    db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the hub database; SQLite under home when unset.",
    )
    url: str | None = Field(default=None, description="Hub URL for clients (SDK, CLI).")
    token: str | None = Field(default=None, description="API token for clients.")

    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Largest request body.")
    max_artifact_bytes: int = Field(
        default=2 << 30,
        ge=1024,
        description="Largest run artifact (uploads stream past max_body_bytes).",
    )
    artifacts_url: str | None = Field(
        default=None,
        description="An fsspec URL (e.g. s3://bucket/zslab, memory://zslab) for the artifact "
        "store; default: the local directory <home>/artifacts.",
    )
    db_busy_timeout_s: float = Field(
        default=5.0, ge=0, description="How long a write waits for a locked SQLite database."
    )
    auth_cache_s: float = Field(
        default=5.0, ge=0, description="How long a token lookup is reused (0: never)."
    )
    token_default_days: int = Field(default=90, ge=1)
    token_max_days: int = Field(default=365, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    bootstrap_token: str | None = Field(
        default=None,
        description="Admin token to create on first start of a shared hub (else one is printed).",
    )
    inventory: str | None = Field(
        default=None, description="Inventory YAML at first start (default: the example one)."
    )
    tariff: str | None = Field(
        default=None, description="Time-of-use tariff YAML (default: the example Shanghai one)."
    )
    placement_policy: str = Field(default="zslab", description="Placement policy of the broker.")
    heartbeat_s: float = Field(default=30.0, gt=0, description="Lease heartbeat interval.")
    preemption_grace_s: float = Field(
        default=120.0, ge=0, description="Notice a preempted lease gets before it is stopped."
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Dask scheduler lease workers attach to (`zslab up` uses its LocalCluster's).",
    )
    launcher: Literal["local", "kubernetes", "slurm", "none"] = Field(
        default="local", description="What starts a granted lease's Dask worker."
    )
    launcher_options: dict[str, Any] = Field(
        default_factory=dict,
        description='Launcher settings as JSON, e.g. {"cluster": "zslab"} for kubernetes.',
    )
    slice_threads: int = Field(
        default=2, ge=1, description="Worker threads when a request names no CPUs."
    )
    slice_memory_gib: float = Field(
        default=4.0, gt=0, description="Worker memory limit when a request names no memory."
    )
    real_devices: bool = Field(
        default=False,
        description="The inventory's devices are real: give workers their device variables.",
    )
    worker_start_timeout_s: float = Field(default=60.0, gt=0)
    dask_workers: int = Field(default=1, ge=0, description="Workers of the embedded cluster.")
    dask_threads: int = Field(default=2, ge=1, description="Threads per embedded worker.")
    start_timeout_s: float = Field(default=90.0, gt=0)
    log_level: str = Field(default="INFO")

    @field_validator("home", mode="before")
    @classmethod
    def _expand_home(cls, value: Any) -> Any:
        if isinstance(value, str | Path):
            return Path(value).expanduser()
        return value

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.home / 'zslab.db'}"

    @property
    def runtime_file(self) -> Path:
        return self.home / "runtime.json"

    @property
    def runtime_lock(self) -> Path:
        return self.home / "runtime.lock"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def artifacts_dir(self) -> Path:
        """Root of the content-addressed store of run artifacts, unless ``artifacts_url`` is set."""
        return self.home / "artifacts"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with a readable error instead of a pydantic dump."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(
            f"Setting {name!r} is invalid: {first['msg']}.",
            field=name,
            fix=f"Correct the environment variable ZSLAB_{name.upper()} (or the argument).",
        ) from exc


@dataclass(frozen=True)
class RuntimeInfo:
    """What a running embedded hub publishes in ``$ZSLAB_HOME/runtime.json``."""

    url: str
    token: str
    pid: int
    started_at: str
    version: str
    database: str
    dask_scheduler: str | None = None
    dask_dashboard: str | None = None

    def write(self, path: Path) -> None:
        """Write atomically with mode 0600: the file holds an admin token."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".runtime-", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(asdict(self), fh, indent=2)
                fh.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def read(cls, path: Path) -> RuntimeInfo | None:
        """The runtime file's content, or None when there is none."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the runtime file {path}: {exc.strerror}.",
                fix="Check its permissions, or remove it and run `zslab up`.",
            ) from exc
        try:
            data = json.loads(text)
            known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
            return cls(**known)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"The runtime file {path} is damaged ({exc}).",
                fix="Remove it (`zslab down`) and start the hub again with `zslab up`.",
            ) from exc
