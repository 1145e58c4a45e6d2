"""The one Settings class. Read from ``ONEWINDOW_*`` environment variables, never at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from onewindow.kit.errors import ConfigurationError

DEFAULT_SECRET = "dev-insecure-change-me"  # noqa: S105 - refused outside development, see check()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONEWINDOW_", env_file=None, extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".onewindow")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir"
    )
    secret_key: str = DEFAULT_SECRET
    timezone: str = "Asia/Shanghai"
    holidays_file: Path | None = Field(
        default=None, description="YAML of public holidays and make-up workdays (调休)"
    )
    max_upload_bytes: int = 20 * 1024 * 1024
    allowed_content_types: tuple[str, ...] = (
        "application/pdf",
        "image/jpeg",
        "image/png",
        "application/ofd",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="address the public reaches the platform at (printed on documents' codes)",
    )
    # security and privacy (onewindow.security): encryption at rest, the ledger, exports
    key_file: Path | None = Field(
        default=None, description="JSON file of wrapped data keys (onewindow privacy keys init)"
    )
    master_key: str | None = Field(
        default=None, description="base64 master key that unwraps the data keys (the KMS)"
    )
    ledger_key_file: Path | None = Field(
        default=None, description="Ed25519 private key (PEM) that signs ledger tree heads"
    )
    tree_head_minutes: int = Field(default=60, description="sign a tree head this often")
    k_anonymity: int = Field(default=5, description="smallest group a de-identified export has")
    behind_tls: bool = Field(default=False, description="send HSTS (served over HTTPS)")
    # limits on what a client may send, enforced while reading (onewindow.api.limits)
    max_files_per_request: int = Field(default=8, description="files one upload request holds")
    max_json_bytes: int = Field(default=1024 * 1024, description="JSON or form body, bytes")
    max_header_bytes: int = Field(default=16 * 1024, description="request line and headers")
    max_json_depth: int = Field(default=32, description="nesting of JSON objects and arrays")
    max_number_digits: int = Field(default=32, description="digits of one JSON number")
    body_timeout_seconds: float = Field(
        default=30.0, description="grace for a request body before the minimum rate applies"
    )
    min_body_bytes_per_second: int = Field(
        default=64 * 1024, description="slowest average upload rate accepted after the grace"
    )
    # server-side retries of a request that clashed with another writer (whole unit of work)
    conflict_retries: int = Field(default=8, description="attempts before answering 409")
    # webhooks: a claimed message's lease is renewed while it is being sent, so a dead
    # worker's claims are sent again within a lease
    worker_stale_seconds: float = Field(
        default=120.0, description="a worker silent this long is reported stale by /health"
    )
    webhook_lease_seconds: float = 15.0
    webhook_retry_base_seconds: float = 10.0
    webhook_retry_max_seconds: float = 3600.0

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'onewindow.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "materials"

    def check(self) -> None:
        """Refuse to run with defaults that are only safe on a developer's machine."""
        if self.env == "production" and self.secret_key == DEFAULT_SECRET:
            raise ConfigurationError(
                "ONEWINDOW_SECRET_KEY is still the development default; set a real secret",
                message_zh="生产环境不能使用默认密钥，请设置 ONEWINDOW_SECRET_KEY",
                code="configuration.default_secret",
            )
        if self.env == "production" and not (self.key_file and self.master_key):
            raise ConfigurationError(
                "Set ONEWINDOW_KEY_FILE and ONEWINDOW_MASTER_KEY: personal data is encrypted "
                "at rest with keys that are not the development ones",
                message_zh="生产环境须设置 ONEWINDOW_KEY_FILE 与 ONEWINDOW_MASTER_KEY（静态加密）",
                code="configuration.no_keys",
            )
        if self.env == "production" and not self.ledger_key_file:
            raise ConfigurationError(
                "Set ONEWINDOW_LEDGER_KEY_FILE: the ledger's signing key must not be generated "
                "on the fly in production",
                message_zh="生产环境须设置 ONEWINDOW_LEDGER_KEY_FILE（账本签名私钥）",
                code="configuration.no_ledger_key",
            )
        if self.k_anonymity < 2:
            raise ConfigurationError(
                "ONEWINDOW_K_ANONYMITY must be at least 2", message_zh="k 匿名阈值至少为 2"
            )
        if self.max_upload_bytes <= 0:
            raise ConfigurationError(
                "ONEWINDOW_MAX_UPLOAD_BYTES must be positive",
                message_zh="ONEWINDOW_MAX_UPLOAD_BYTES 必须大于 0",
            )
