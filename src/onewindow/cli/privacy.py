"""``onewindow privacy``: encryption keys, background re-encryption, de-identified exports."""

from __future__ import annotations

import base64
import json
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from onewindow.kit.errors import OneWindowError

privacy_app = typer.Typer(
    help="个人信息保护: keys, re-encryption, de-identified exports.", no_args_is_help=True
)
keys_app = typer.Typer(help="Data keys (envelope-wrapped under the master key).")
privacy_app.add_typer(keys_app, name="keys")


@privacy_app.callback()
def _group() -> None:
    """个人信息保护: keys, re-encryption, de-identified exports."""


def _emit(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(exc: OneWindowError) -> typer.Exit:
    _emit({"error": exc.code, "message": exc.message, "message_zh": exc.message_zh})
    return typer.Exit(2)


@keys_app.command("init")
def keys_init(
    out: Annotated[Path, typer.Option("--out", help="key file to create")],
    master_key: Annotated[
        str | None, typer.Option(envvar="ONEWINDOW_MASTER_KEY", help="base64, 32 bytes")
    ] = None,
) -> None:
    """Create a key file with one data key. Prints a new master key if none is given:
    store it in your secret manager, it is shown once."""
    from onewindow.security import crypto

    try:
        if out.exists():
            raise OneWindowError(f"{out} exists", message_zh=f"{out} 已存在", code="keys.exists")
        shown = None
        if master_key is None:
            shown = base64.b64encode(secrets.token_bytes(32)).decode()
            master_key = shown
        provider = crypto.EnvelopeKeyProvider.create(crypto.master_key_from(master_key))
        provider.save(out)
    except OneWindowError as exc:
        raise _fail(exc) from None
    _emit({"key_file": str(out), "active": provider.active, "master_key": shown})


@keys_app.command("rotate")
def keys_rotate(
    key_file: Annotated[Path, typer.Option("--key-file", envvar="ONEWINDOW_KEY_FILE")],
    master_key: Annotated[str, typer.Option(envvar="ONEWINDOW_MASTER_KEY")],
) -> None:
    """Add a data key and make it active; then run `privacy reencrypt` (no downtime)."""
    from onewindow.security import crypto

    try:
        provider = crypto.EnvelopeKeyProvider.load(key_file, crypto.master_key_from(master_key))
        new = provider.rotate()
        provider.save(key_file)
    except OneWindowError as exc:
        raise _fail(exc) from None
    _emit({"key_file": str(key_file), "active": new, "keys": provider.key_ids()})


@privacy_app.command("reencrypt")
def reencrypt(batch: Annotated[int, typer.Option(min=1, max=10_000)] = 500) -> None:
    """Re-encrypt rows under older data keys, one short transaction per batch."""
    from onewindow.kit.migrate import require_migrated
    from onewindow.kit.platform import Platform
    from onewindow.security import crypto, masking
    from onewindow.security import service as security

    masking.install_log_redaction()
    try:
        platform = Platform.create()
        ring = crypto.configure(platform.settings)
        require_migrated(platform.engine)
        total = security.reencrypt_all(platform, ring.active_key_id, batch=batch)
    except OneWindowError as exc:
        raise _fail(exc) from None
    _emit({"reencrypted": total, "active": ring.active_key_id})


@privacy_app.command("export-events")
def export_events(
    out: Annotated[Path, typer.Option("--out")],
    fmt: Annotated[str, typer.Option("--format", help="csv | parquet | xes")] = "csv",
    k: Annotated[int | None, typer.Option(min=2, help="default ONEWINDOW_K_ANONYMITY")] = None,
) -> None:
    """The event log de-identified for analysts; refused below k (GB/T 37964)."""
    from onewindow.kit.migrate import require_migrated
    from onewindow.kit.platform import Platform
    from onewindow.security import crypto, deidentify, masking

    masking.install_log_redaction()
    try:
        platform = Platform.create()
        crypto.configure(platform.settings)
        require_migrated(platform.engine)
        with platform.unit_of_work() as ctx:
            report = deidentify.export_events(ctx, out, fmt, k=k)
    except OneWindowError as exc:
        raise _fail(exc) from None
    _emit({"out": str(out), "k_anonymity": report.as_json()})
