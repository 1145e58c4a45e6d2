"""``onewindow ledger``: export, roots, proofs, signed tree heads and offline verification.

Every command prints one JSON document on stdout. ``verify`` exits 1 when the log does not
match, naming the first entry that does not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from onewindow.kit.errors import OneWindowError

ledger_app = typer.Typer(
    help="账本: the tamper-evident ledger of decisions and data access (RFC 9162).",
    no_args_is_help=True,
)


@ledger_app.callback()
def _group() -> None:
    """账本: the tamper-evident ledger of decisions and data access (RFC 9162)."""


def _emit(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(exc: OneWindowError) -> typer.Exit:
    _emit({"error": exc.code, "message": exc.message, "message_zh": exc.message_zh})
    return typer.Exit(2)


def _platform() -> Any:
    from onewindow.kit.migrate import require_migrated
    from onewindow.kit.platform import Platform
    from onewindow.security import crypto, masking

    masking.install_log_redaction()
    platform = Platform.create()
    crypto.configure(platform.settings)
    require_migrated(platform.engine)
    return platform


@ledger_app.command("export")
def export(out: Annotated[Path, typer.Option("--out", help="FILE.jsonl to write")]) -> None:
    """One line per entry: index, entry (the exact bytes hashed), leaf_hash."""
    from onewindow.security import ledger

    try:
        platform = _platform()
        with platform.unit_of_work() as ctx:
            n = ledger.export(ctx, out)
            head = ledger.root(ctx, n)
    except OneWindowError as exc:
        raise _fail(exc) from None
    _emit({"out": str(out), "entries": n, "root_hash": head["root_hash"]})


@ledger_app.command("root")
def root(size: Annotated[int | None, typer.Option("--size", min=0)] = None) -> None:
    """The root hash of the first N entries (default: all)."""
    from onewindow.security import ledger

    try:
        with _platform().unit_of_work() as ctx:
            _emit(ledger.root(ctx, size))
    except OneWindowError as exc:
        raise _fail(exc) from None


@ledger_app.command("prove-inclusion")
def prove_inclusion(
    index: Annotated[int, typer.Option("--index", min=0)],
    size: Annotated[int | None, typer.Option("--size", min=1)] = None,
) -> None:
    """Audit path showing entry I is in the tree of size N."""
    from onewindow.security import ledger

    try:
        with _platform().unit_of_work() as ctx:
            _emit(ledger.prove_inclusion(ctx, index, size))
    except OneWindowError as exc:
        raise _fail(exc) from None


@ledger_app.command("prove-consistency")
def prove_consistency(
    old: Annotated[int, typer.Option("--old", min=1)],
    new: Annotated[int, typer.Option("--new", min=1)],
) -> None:
    """Proof that the tree of size M is a prefix of the tree of size N."""
    from onewindow.security import ledger

    try:
        with _platform().unit_of_work() as ctx:
            _emit(ledger.prove_consistency(ctx, old, new))
    except OneWindowError as exc:
        raise _fail(exc) from None


@ledger_app.command("sign")
def sign(
    out: Annotated[Path | None, typer.Option("--out", help="also write the head here")] = None,
) -> None:
    """Sign the current tree head now (Ed25519 over size, root hash, timestamp)."""
    from onewindow.security import ledger

    try:
        with _platform().unit_of_work() as ctx:
            head = ledger.sign_tree_head(ctx)
    except OneWindowError as exc:
        raise _fail(exc) from None
    if out is not None:
        out.write_text(json.dumps(head, indent=2) + "\n", encoding="utf-8")
    _emit(head)


@ledger_app.command("public-key")
def public_key(
    out: Annotated[Path | None, typer.Option("--out", help="write the PEM here")] = None,
) -> None:
    """The public key that verifies tree heads (PEM)."""
    from onewindow.security import ledger

    try:
        pem = ledger.public_key_pem(_platform().settings)
    except OneWindowError as exc:
        raise _fail(exc) from None
    if out is not None:
        out.write_text(pem, encoding="utf-8")
    _emit({"public_key": pem, "out": str(out) if out else None})


@ledger_app.command("verify")
def verify(
    export_file: Annotated[
        Path | None, typer.Option("--export", help="FILE.jsonl from `ledger export`")
    ] = None,
    tree_head: Annotated[
        Path | None, typer.Option("--tree-head", help="signed head JSON (from `ledger sign`)")
    ] = None,
    public_key_file: Annotated[
        Path | None, typer.Option("--public-key", help="PEM public key")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="processes checking side by side (default: one a CPU)"),
    ] = None,
) -> None:
    """Check the stored log (or an export, offline) against signed tree heads.

    With --export, --tree-head and --public-key nothing but those files is read.
    """
    from onewindow.security import ledger

    try:
        if export_file is not None:
            if tree_head is None or public_key_file is None:
                raise typer.BadParameter("--export needs --tree-head and --public-key")
            head = json.loads(tree_head.read_text(encoding="utf-8"))
            key = ledger.load_public_key(public_key_file.read_bytes())
            verdict = ledger.verify_export(export_file, head, key, workers=workers)
        else:
            platform = _platform()
            public = (
                ledger.load_public_key(public_key_file.read_bytes())
                if public_key_file
                else ledger.signing_key(platform.settings).public_key()
            )
            given = json.loads(tree_head.read_text(encoding="utf-8")) if tree_head else None
            with platform.unit_of_work() as ctx:
                verdict = ledger.verify_stored(ctx, public, head=given, workers=workers)
    except OneWindowError as exc:
        raise _fail(exc) from None
    _emit(verdict.as_json())
    if not verdict.ok:
        raise typer.Exit(1)


@ledger_app.command("verify-proof")
def verify_proof(
    proof_file: Annotated[Path, typer.Argument(help="the JSON downloaded from /audit (a proof)")],
    public_key_file: Annotated[
        Path | None,
        typer.Option("--public-key", help="PEM public key you trust (default: the proof's own)"),
    ] = None,
) -> None:
    """Offline: is the proof's entry in the ledger under its signed tree head? Reads only the
    given files; exits 1 when it is not."""
    from onewindow.security import ledger

    try:
        bundle = json.loads(proof_file.read_text(encoding="utf-8"))
        key = ledger.load_public_key(public_key_file.read_bytes()) if public_key_file else None
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    except OneWindowError as exc:
        raise _fail(exc) from None
    result = ledger.check_inclusion_bundle(bundle, key)
    _emit(result)
    if not result["ok"]:
        raise typer.Exit(1)
