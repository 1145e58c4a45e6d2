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
        if self.max_upload_bytes <= 0:
            raise ConfigurationError(
                "ONEWINDOW_MAX_UPLOAD_BYTES must be positive",
                message_zh="ONEWINDOW_MAX_UPLOAD_BYTES 必须大于 0",
            )
