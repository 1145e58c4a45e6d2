from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ApplicantKind = Literal["person", "business"]
Channel = Literal["online", "window", "hotline"]
CHANNELS: tuple[str, ...] = ("online", "window", "hotline")


@dataclass(frozen=True)
class ApplicantIn:
    kind: str
    id_number: str
    name: str
    phone: str | None = None


@dataclass(frozen=True)
class Upload:
    """One file handed in for one material of the service."""

    material_code: str
    filename: str
    content: bytes
