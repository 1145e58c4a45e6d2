"""Content-addressed material store: a file's bytes are kept once, named by their SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from onewindow.kit.errors import NotFound, ValidationFailed

# Types are decided by the bytes, never by the file name or the client's claim.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"PK\x03\x04", "application/ofd"),  # OFD (GB/T 33190) is a ZIP container
)


class MaterialRejected(ValidationFailed):
    code = "material.rejected"


def sniff_content_type(data: bytes) -> str | None:
    for magic, ctype in _MAGIC:
        if data.startswith(magic):
            return ctype
    return None


def check_material(data: bytes, filename: str, *, max_bytes: int, allowed: tuple[str, ...]) -> str:
    """Return the content type of an acceptable upload.

    Raises:
        MaterialRejected: empty, too large, or of a type not allowed (code says which).
    """
    if not data:
        raise MaterialRejected(
            f"{filename}: the file is empty",
            message_zh=f"{filename}：文件为空",
            code="material.empty",
        )
    if len(data) > max_bytes:
        raise MaterialRejected(
            f"{filename}: {len(data)} bytes is over the limit of {max_bytes}",
            message_zh=f"{filename}：文件大小 {len(data)} 字节超过上限 {max_bytes}",
            code="material.too_large",
            status=413,
        )
    ctype = sniff_content_type(data)
    if ctype is None or ctype not in allowed:
        raise MaterialRejected(
            f"{filename}: file type not allowed (allowed: {', '.join(allowed)})",
            message_zh=f"{filename}：不允许的文件类型（允许：{'、'.join(allowed)}）",
            code="material.type_not_allowed",
            status=415,
        )
    return ctype


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound("No such material", message_zh="材料不存在", code="material.unknown")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        """Store bytes once; returns their SHA-256. Written atomically (temp file + rename)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        try:
            return self.path_for(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(
                "Material content is missing from the store",
                message_zh="材料文件缺失",
                code="material.unknown",
            ) from exc
