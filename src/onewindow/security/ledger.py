"""账本: the tamper-evident record of decisions and data access (RFC 9162 Merkle tree).

Every approval decision, grant or permission change, unmasking and shared-data read is
appended, in the same transaction as the change, as a canonical JSON entry (keys sorted, no
spaces, UTF-8). Appending costs O(log n): the state row keeps the compact range (the perfect
subtrees covering the log), and each perfect subtree's hash is stored once when complete, so
roots of past sizes and both kinds of proof need O(log n) stored hashes and no rebuilding.

Tree heads (size, root hash, timestamp) are signed with Ed25519; with a head, the public key
and an export, anyone can check the log offline (``verify_export``). Rows are append-only in
the database (triggers) and, should someone get past those, ``verify_stored`` names the first
entry that does not match.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum, unique
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import JSON, and_, cast, func, insert, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from onewindow.kit.errors import ConfigurationError, NotFound, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.kit.settings import Settings
from onewindow.security import ledger_verify, merkle
from onewindow.security.ledger_verify import Verdict as Verdict
from onewindow.security.ledger_verify import canonical as canonical
from onewindow.security.models import LedgerEntry, LedgerNode, LedgerState, TreeHead

STATE_ID = 1
_MEMO_KEY = "security.ledger.state"


@unique
class EntryKind(StrEnum):
    TASK_DECIDED = "task_decided"
    GRANT_REQUESTED = "grant_requested"
    GRANT_APPROVED = "grant_approved"
    GRANT_REVOKED = "grant_revoked"
    GRANT_REFUSED = "grant_refused"
    PERMISSION_CHANGED = "permission_changed"
    FIELD_UNMASKED = "field_unmasked"
    SHARED_DATA_READ = "shared_data_read"
    PERSONAL_DATA_REQUESTED = "personal_data_requested"
    DOCUMENT_ISSUED = "document_issued"
    CATALOG_CHANGED = "catalog_changed"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- appending ------------------------------------------------------------------------------


@dataclass
class _Open:
    """The compact range of the state row this transaction has locked."""

    transaction: Any
    compact: merkle.CompactRange


def _open(session: Session) -> _Open:
    """Lock the state row (once per transaction) and return its compact range.

    Works on the session's connection, not the ORM, so it can run inside a flush hook.
    """
    transaction = session.get_transaction()
    memo = session.info.get(_MEMO_KEY)
    if isinstance(memo, _Open) and memo.transaction is transaction:
        return memo
    conn = session.connection()
    row = conn.execute(
        select(LedgerState.size, LedgerState.frontier)
        .where(LedgerState.id == STATE_ID)
        .with_for_update()
    ).first()
    if row is None:
        # The migration writes this row; it is made again if the tables were emptied.
        _create_state(session)
        row = conn.execute(
            select(LedgerState.size, LedgerState.frontier)
            .where(LedgerState.id == STATE_ID)
            .with_for_update()
        ).one()
    frontier = row[1] if isinstance(row[1], list) else json.loads(row[1])
    opened = _Open(transaction, merkle.CompactRange(row[0], [bytes.fromhex(h) for h in frontier]))
    session.info[_MEMO_KEY] = opened
    return opened


def _create_state(session: Session) -> None:
    conn = session.connection()
    values = {
        "id": STATE_ID,
        "size": 0,
        "frontier": [],
        "root_hash": merkle.EMPTY_ROOT.hex(),
        "updated_at": datetime.now(UTC),
    }
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(LedgerState).values(values).on_conflict_do_nothing())
    elif conn.dialect.name == "sqlite":
        conn.execute(sqlite_insert(LedgerState).values(values).on_conflict_do_nothing())
    else:
        conn.execute(insert(LedgerState).values(values))


def append(ctx: Ctx, kind: EntryKind, payload: Mapping[str, Any], *, actor: str) -> int:
    """Append one entry in the caller's transaction; returns its index (0-based).

    ``payload`` must be JSON: the entry is ``{"kind", "at", "actor", **payload}``.
    """
    return append_rows(ctx.session, [(kind, payload, actor)], at=ctx.clock.now())[0]


def append_many(ctx: Ctx, items: Iterable[tuple[EntryKind, Mapping[str, Any], str]]) -> list[int]:
    return append_rows(ctx.session, items, at=ctx.clock.now())


def append_rows(
    session: Session,
    items: Iterable[tuple[EntryKind, Mapping[str, Any], str]],
    *,
    at: datetime,
) -> list[int]:
    """Append entries through the session's connection, in its transaction."""
    opened = _open(session)
    stamp = _iso(at)
    entries: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []

    def on_node(level: int, index: int, h: bytes) -> None:
        nodes.append({"level": level, "idx": index, "hash": h.hex()})

    indexes: list[int] = []
    for kind, payload, actor in items:
        body = canonical({**payload, "kind": str(kind), "at": stamp, "actor": actor})
        leaf = merkle.leaf_hash(body)
        index = opened.compact.size
        entries.append(
            {"idx": index, "kind": str(kind), "entry": body.decode(), "leaf_hash": leaf.hex()}
        )
        opened.compact.append(leaf, on_node)
        indexes.append(index)
    if not entries:
        return []
    conn = session.connection()
    conn.execute(insert(LedgerEntry), entries)
    if nodes:
        conn.execute(insert(LedgerNode), nodes)
    conn.execute(
        update(LedgerState)
        .where(LedgerState.id == STATE_ID)
        .values(
            size=opened.compact.size,
            frontier=[h.hex() for h in opened.compact.hashes],
            root_hash=opened.compact.root().hex(),
            updated_at=at,
        )
    )
    return indexes


# --- reading hashes back ----------------------------------------------------------------------


def size(ctx: Ctx) -> int:
    return ctx.session.scalar(select(LedgerState.size).where(LedgerState.id == STATE_ID)) or 0


def _node_hashes(session: Session, nodes: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
    wanted = set(nodes)
    leaves = sorted(i for level, i in wanted if level == 0)
    inner = [(level, i) for level, i in wanted if level > 0]
    out: dict[merkle.Node, bytes] = {}
    if leaves:
        for idx, h in session.execute(
            select(LedgerEntry.idx, LedgerEntry.leaf_hash).where(LedgerEntry.idx.in_(leaves))
        ):
            out[(0, idx)] = bytes.fromhex(h)
    if inner:
        cond = or_(*(and_(LedgerNode.level == lv, LedgerNode.idx == i) for lv, i in inner))
        for level, idx, h in session.execute(
            select(LedgerNode.level, LedgerNode.idx, LedgerNode.hash).where(cond)
        ):
            out[(level, idx)] = bytes.fromhex(h)
    missing = wanted - set(out)
    if missing:
        raise NotFound(
            f"Ledger nodes missing: {sorted(missing)[:5]}",
            message_zh="账本节点缺失",
            code="ledger.node_missing",
        )
    return out


def _range_hashes(session: Session, ranges: Sequence[merkle.Range]) -> list[bytes]:
    blocks = [merkle.perfect_blocks(a, b) for a, b in ranges]
    known = _node_hashes(session, (n for bl in blocks for n in bl))
    return [merkle.fold([known[n] for n in bl]) for bl in blocks]


def _check_size(ctx: Ctx, n: int | None) -> int:
    current = size(ctx)
    if n is None:
        return current
    if not 0 <= n <= current:
        raise ValidationFailed(
            f"The ledger has {current} entries; size {n} is out of range",
            message_zh=f"账本共 {current} 条，规模 {n} 超出范围",
            code="ledger.bad_size",
        )
    return n


def root(ctx: Ctx, n: int | None = None) -> dict[str, Any]:
    """``{"size", "root_hash"}`` of the tree over the first ``n`` entries (default: all)."""
    n = _check_size(ctx, n)
    if n == 0:
        return {"size": 0, "root_hash": merkle.EMPTY_ROOT.hex()}
    (h,) = _range_hashes(ctx.session, [(0, n)])
    return {"size": n, "root_hash": h.hex()}


def prove_inclusion(ctx: Ctx, index: int, n: int | None = None) -> dict[str, Any]:
    n = _check_size(ctx, n)
    if not 0 <= index < n:
        raise ValidationFailed(
            f"Entry {index} is not in a tree of size {n}",
            message_zh=f"条目 {index} 不在规模为 {n} 的树中",
            code="ledger.bad_index",
        )
    path = _range_hashes(ctx.session, merkle.inclusion_ranges(index, n))
    leaf = _node_hashes(ctx.session, [(0, index)])[(0, index)]
    return {
        "index": index,
        "size": n,
        "leaf_hash": leaf.hex(),
        "audit_path": [h.hex() for h in path],
    }


def included_entry(ctx: Ctx, index: int) -> dict[str, Any] | None:
    """The entry at ``index`` when it is provably in today's tree, else ``None``.

    Its stored bytes must hash to its leaf, and that leaf with its audit path must give the
    root of the whole ledger now (RFC 9162 §2.1.3.2): an entry edited in the database fails.
    """
    row = ctx.session.get(LedgerEntry, index)
    if row is None:
        return None
    data = row.entry.encode("utf-8")
    if merkle.leaf_hash(data).hex() != row.leaf_hash:
        return None
    proof = prove_inclusion(ctx, index)
    top = root(ctx)
    try:
        merkle.verify_inclusion(
            index,
            int(proof["size"]),
            bytes.fromhex(row.leaf_hash),
            [bytes.fromhex(h) for h in proof["audit_path"]],
            bytes.fromhex(str(top["root_hash"])),
        )
    except merkle.ProofError:
        return None
    parsed: dict[str, Any] = json.loads(data)
    return parsed


def prove_consistency(ctx: Ctx, old: int, new: int) -> dict[str, Any]:
    new = _check_size(ctx, new)
    if not 0 < old <= new:
        raise ValidationFailed(
            f"No consistency proof from size {old} to {new}",
            message_zh=f"无法给出规模 {old} 到 {new} 的一致性证明",
            code="ledger.bad_size",
        )
    proof = _range_hashes(ctx.session, merkle.consistency_ranges(old, new))
    return {"old_size": old, "new_size": new, "proof": [h.hex() for h in proof]}


@dataclass(frozen=True)
class StoredEntry:
    idx: int
    kind: str
    entry: str
    leaf_hash: str


# Bulk reads go to the driver: a page of rows is one statement, with no ORM objects. Table and
# column names are constants; every value is bound.
_FIRST_PAGE = "SELECT idx, entry, leaf_hash, kind FROM ledger_entries ORDER BY idx LIMIT {p}"
_NEXT_PAGE = (
    "SELECT idx, entry, leaf_hash, kind FROM ledger_entries WHERE idx > {p} ORDER BY idx LIMIT {p}"
)
_RANGE = (
    "SELECT idx, entry, leaf_hash, kind FROM ledger_entries "
    "WHERE idx >= {p} AND idx < {p} ORDER BY idx"
)
_NODES = (
    "SELECT idx, hash FROM ledger_nodes WHERE level = {p} AND idx >= {p} AND idx < {p} ORDER BY idx"
)
Row = tuple[int, str, str, str]  # idx, entry, leaf_hash, kind


def _mark(dialect: Any) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _pages(session: Session, width: int) -> Iterator[list[Row]]:
    """Every entry in index order, ``width`` rows a statement (keyset paging)."""
    conn = session.connection()
    mark = _mark(conn.dialect)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_FIRST_PAGE.format(p=mark), (width,))
        while page := list(cursor.fetchall()):
            yield page
            cursor.execute(_NEXT_PAGE.format(p=mark), (page[-1][0], width))
    finally:
        cursor.close()


def _range_rows(cursor: Any, mark: str, start: int, stop: int) -> list[Row]:
    cursor.execute(_RANGE.format(p=mark), (start, stop))
    return list(cursor.fetchall())


def _stored_nodes(
    cursor: Any, mark: str, start: int, stop: int, bits: int
) -> dict[int, list[tuple[int, str]]]:
    """Stored subtree hashes inside leaves [start, stop), by level (1 to ``bits``)."""
    out: dict[int, list[tuple[int, str]]] = {}
    for level in range(1, bits + 1):
        first, end = start >> level, stop >> level
        if first < end:
            cursor.execute(_NODES.format(p=mark), (level, first, end))
            out[level] = list(cursor.fetchall())
    return out


def entries(session: Session, *, batch: int = 10_000) -> Iterator[StoredEntry]:
    """Every stored entry in index order, read in batches (plain rows, not ORM objects)."""
    for page in _pages(session, batch):
        for idx, entry, leaf, kind in page:
            yield StoredEntry(idx, kind, entry, leaf)


def export_line(e: StoredEntry) -> str:
    return ledger_verify.export_line(e.idx, e.entry, e.leaf_hash)


def export(ctx: Ctx, out: Path) -> int:
    """One JSON line per entry: ``index``, ``entry`` (the exact bytes hashed), ``leaf_hash``."""
    n = 0
    line = ledger_verify.export_line
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for page in _pages(ctx.session, 1 << ledger_verify.DEFAULT_BITS):
            fh.write("".join([line(i, e, h) + "\n" for i, e, h, _ in page]))
            n += len(page)
    tmp.replace(out)
    return n


# --- signed tree heads ----------------------------------------------------------------------


def _key_path(settings: Settings) -> Path:
    return settings.ledger_key_file or settings.data_dir / "ledger_ed25519.pem"


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The Ed25519 key that signs tree heads; made on first use outside production."""
    path = _key_path(settings)
    if not path.exists():
        if settings.env == "production":
            raise ConfigurationError(
                f"Ledger signing key {path} not found", message_zh=f"未找到账本签名私钥 {path}"
            )
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        return key
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an Ed25519 key", message_zh="签名私钥不是 Ed25519")
    return loaded


def public_key_pem(settings: Settings) -> str:
    return (
        signing_key(settings)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signed_bytes(n: int, root_hash: str, timestamp: int) -> bytes:
    """What a tree head's signature covers."""
    return canonical({"root_hash": root_hash, "size": n, "timestamp": timestamp})


def head_json(head: TreeHead) -> dict[str, Any]:
    return {
        "size": head.size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "key_id": head.key_id,
        "signature": head.signature,
    }


def sign_tree_head(ctx: Ctx) -> dict[str, Any]:
    """Sign the current (size, root, timestamp) and keep it; returns the head as JSON."""
    key = signing_key(ctx.settings)
    current = root(ctx)
    timestamp = int(ctx.clock.now().timestamp() * 1000)
    signature = key.sign(signed_bytes(current["size"], current["root_hash"], timestamp))
    head = TreeHead(
        size=current["size"],
        root_hash=current["root_hash"],
        timestamp=timestamp,
        key_id=key_id(key.public_key()),
        signature=base64.b64encode(signature).decode(),
    )
    ctx.session.add(head)
    ctx.session.flush()
    return head_json(head)


def latest_tree_head(ctx: Ctx) -> dict[str, Any] | None:
    head = ctx.session.scalar(select(TreeHead).order_by(TreeHead.id.desc()).limit(1))
    return head_json(head) if head else None


def sign_tree_head_if_due(ctx: Ctx) -> dict[str, Any] | None:
    """The schedule: sign when the log grew and the last head is older than the interval."""
    last = ctx.session.scalar(select(TreeHead).order_by(TreeHead.id.desc()).limit(1))
    now_ms = int(ctx.clock.now().timestamp() * 1000)
    if last is not None:
        if last.size == size(ctx):
            return None
        if now_ms - last.timestamp < ctx.settings.tree_head_minutes * 60_000:
            return None
    return sign_tree_head(ctx)


def load_public_key(data: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValidationFailed("Not an Ed25519 public key", message_zh="不是 Ed25519 公钥")
    return key


def check_head_signature(head: Mapping[str, Any], public: Ed25519PublicKey) -> str | None:
    """None when the head's signature verifies, else what is wrong."""
    try:
        signature = base64.b64decode(str(head["signature"]), validate=True)
        public.verify(
            signature,
            signed_bytes(int(head["size"]), str(head["root_hash"]), int(head["timestamp"])),
        )
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return "the tree head's signature does not verify with this public key"
    return None


# --- browsing -------------------------------------------------------------------------------


def _entry_field(session: Session, name: str) -> Any:
    """One top-level key of the entry's canonical JSON, as text, in SQL.

    SQLite reads JSON from text as it is (a CAST would give the column NUMERIC affinity);
    PostgreSQL needs the text cast to json first.
    """
    if session.get_bind().dialect.name == "sqlite":
        doc: Any = type_coerce(LedgerEntry.entry, JSON)
    else:
        doc = cast(LedgerEntry.entry, JSON)
    return doc[name].as_string()


def browse(
    ctx: Ctx,
    *,
    kind: str | None = None,
    case: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Entries newest first, filtered by kind, case number (``case`` or ``case_ref``), actor and
    period [since, until); with the total matching. Each item: index, kind, leaf_hash and the
    parsed entry."""
    session = ctx.session
    stmt = select(LedgerEntry.idx, LedgerEntry.kind, LedgerEntry.entry, LedgerEntry.leaf_hash)
    if kind:
        stmt = stmt.where(LedgerEntry.kind == kind)
    if case:
        stmt = stmt.where(
            or_(_entry_field(session, "case") == case, _entry_field(session, "case_ref") == case)
        )
    if actor:
        stmt = stmt.where(_entry_field(session, "actor") == actor)
    # "at" is ISO 8601 in UTC with milliseconds and a Z: its text order is its time order.
    if since is not None:
        stmt = stmt.where(_entry_field(session, "at") >= _iso(since))
    if until is not None:
        stmt = stmt.where(_entry_field(session, "at") < _iso(until))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(LedgerEntry.idx.desc()).limit(limit).offset(offset))
    return [
        {"index": idx, "kind": k, "leaf_hash": leaf, "entry": json.loads(entry)}
        for idx, k, entry, leaf in rows
    ], total


def tree_heads(ctx: Ctx, *, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Signed tree heads, newest first, each with whether its signature verifies."""
    public = signing_key(ctx.settings).public_key()
    total = ctx.session.scalar(select(func.count()).select_from(TreeHead)) or 0
    heads = ctx.session.scalars(
        select(TreeHead).order_by(TreeHead.id.desc()).limit(limit).offset(offset)
    )
    out = []
    for h in heads:
        doc = head_json(h)
        doc["id"] = h.id
        doc["signature_ok"] = check_head_signature(doc, public) is None
        out.append(doc)
    return out, total


def inclusion_bundle(ctx: Ctx, index: int) -> dict[str, Any]:
    """Everything needed to check offline that entry ``index`` is in the signed ledger: the
    entry's exact bytes, its audit path to the latest signed tree head that covers it, that
    head and the public key (``onewindow ledger verify-proof`` checks it).

    Without a signed head covering the entry the proof is to today's root, unsigned, and
    ``tree_head`` is None.

    Raises:
        NotFound: no entry ``index``.
    """
    row = ctx.session.get(LedgerEntry, index)
    if row is None:
        raise NotFound(
            f"No ledger entry {index}",
            message_zh=f"账本条目 {index} 不存在",
            code="ledger.no_entry",
        )
    head = ctx.session.scalar(
        select(TreeHead).where(TreeHead.size > index).order_by(TreeHead.id.desc()).limit(1)
    )
    n = head.size if head is not None else size(ctx)
    proof = prove_inclusion(ctx, index, n)
    return {
        "format": "onewindow-ledger-inclusion/1",
        "index": index,
        "entry": row.entry,
        "leaf_hash": row.leaf_hash,
        "tree_size": n,
        "root_hash": root(ctx, n)["root_hash"],
        "audit_path": proof["audit_path"],
        "tree_head": head_json(head) if head is not None else None,
        "public_key": public_key_pem(ctx.settings),
    }


def check_inclusion_bundle(
    bundle: Mapping[str, Any], public: Ed25519PublicKey | None = None
) -> dict[str, Any]:
    """Offline: does the bundle prove its entry is in the ledger under a signed head?

    ``public`` is the key you trust; without it the bundle's own key is used (and the answer
    says so: a forger can sign with a key of their own).
    """
    try:
        index, n = int(bundle["index"]), int(bundle["tree_size"])
        entry = str(bundle["entry"]).encode("utf-8")
        leaf = merkle.leaf_hash(entry)
        if leaf.hex() != bundle["leaf_hash"]:
            return {"ok": False, "problem": "the entry does not hash to its leaf hash"}
        merkle.verify_inclusion(
            index,
            n,
            leaf,
            [bytes.fromhex(h) for h in bundle["audit_path"]],
            bytes.fromhex(str(bundle["root_hash"])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        return {"ok": False, "problem": f"not an inclusion proof: {exc}"}
    except merkle.ProofError as exc:
        return {"ok": False, "problem": f"the audit path does not lead to the root: {exc}"}
    head = bundle.get("tree_head")
    if not head:
        return {
            "ok": True,
            "signed": False,
            "index": index,
            "tree_size": n,
            "problem": "no signed tree head covers this entry yet",
        }
    if int(head["size"]) != n or head["root_hash"] != bundle["root_hash"]:
        return {"ok": False, "problem": "the proof is not to the tree head it carries"}
    key_source = "given"
    if public is None:
        public = load_public_key(str(bundle["public_key"]).encode())
        key_source = "the bundle's own"
    problem = check_head_signature(head, public)
    if problem:
        return {"ok": False, "problem": problem}
    return {
        "ok": True,
        "signed": True,
        "index": index,
        "tree_size": n,
        "key_id": key_id(public),
        "key": key_source,
    }


# --- verification ---------------------------------------------------------------------------


def _signed_heads(
    signed: Iterable[tuple[str, Mapping[str, Any]]], public: Ed25519PublicKey
) -> dict[int, str] | Verdict:
    """size → root hash of heads whose signatures verify; a failing verdict otherwise."""
    heads: dict[int, str] = {}
    for name, head in signed:
        problem = check_head_signature(head, public)
        if problem:
            return Verdict(False, 0, "", None, f"{name}: {problem}" if name else problem)
        n, root_hash = int(head["size"]), str(head["root_hash"])
        if heads.get(n, root_hash) != root_hash:
            return Verdict(False, 0, "", None, f"two signed heads of size {n} differ")
        heads[n] = root_hash
    return heads


def verify_stored(
    ctx: Ctx,
    public: Ed25519PublicKey | None = None,
    *,
    head: Mapping[str, Any] | None = None,
    workers: int | None = None,
    bits: int = ledger_verify.DEFAULT_BITS,
    progress: Callable[[int], None] | None = None,
) -> Verdict:
    """Check every stored entry, stored subtree hash and signed tree head (and ``head``, a
    signed head from elsewhere, when given).

    ``progress`` is called with the number of entries checked so far after each chunk.

    ``workers``: processes checking chunks of 2^``bits`` entries side by side (default: one
    per CPU for a ledger of more than two chunks; 1 checks in this process).
    """
    public = public or signing_key(ctx.settings).public_key()
    signed: list[tuple[str, Mapping[str, Any]]] = [
        (f"tree head {h.id}", head_json(h))
        for h in ctx.session.scalars(select(TreeHead).order_by(TreeHead.id))
    ]
    if head is not None:
        signed.append(("the given tree head", head))
    heads = _signed_heads(signed, public)
    if isinstance(heads, Verdict):
        return heads
    upper = {
        (lv, i): h
        for lv, i, h in ctx.session.execute(
            select(LedgerNode.level, LedgerNode.idx, LedgerNode.hash).where(LedgerNode.level > bits)
        )
    }
    walk = ledger_verify.Walk(heads, bits=bits, upper_nodes=upper)
    chunks = _stored_chunks(ctx, walk, workers, bits)
    verdict = walk.run(_reporting(chunks, progress) if progress else chunks)
    state = ctx.session.execute(
        select(LedgerState.size, LedgerState.root_hash).where(LedgerState.id == STATE_ID)
    ).first()
    if verdict.ok and state is not None:
        if state.size != verdict.size:
            return Verdict(
                False,
                verdict.size,
                verdict.root_hash,
                min(state.size, verdict.size),
                f"the ledger state counts {state.size} entries but {verdict.size} are stored",
                verdict.heads_checked,
            )
        if state.root_hash != verdict.root_hash:
            return Verdict(
                False,
                verdict.size,
                verdict.root_hash,
                None,
                "the stored root hash differs from the recomputed one",
                verdict.heads_checked,
            )
    if verdict.ok and head is not None and verdict.size > int(head["size"]):
        verdict.problem = f"{verdict.size - int(head['size'])} entries are newer than the head"
    return verdict


def _reporting(
    chunks: Iterator[ledger_verify.ChunkResult], progress: Callable[[int], None]
) -> Iterator[ledger_verify.ChunkResult]:
    try:
        for chunk in chunks:
            yield chunk
            progress(chunk.start + chunk.count)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _stored_chunks(
    ctx: Ctx, walk: ledger_verify.Walk, workers: int | None, bits: int
) -> Iterator[ledger_verify.ChunkResult]:
    width = 1 << bits
    session = ctx.session
    count, low, high = session.execute(
        select(func.count(), func.min(LedgerEntry.idx), func.max(LedgerEntry.idx))
    ).one()
    bound = session.connection().engine.url
    url = bound.render_as_string(hide_password=False)
    shared = bound.get_backend_name() != "sqlite" or bound.database not in (None, "", ":memory:")
    workers = ledger_verify.worker_count(workers, count, width)
    # Side by side only when entry i is row i (no gaps): then chunk k is the rows of one
    # index range, which a worker reads on its own connection. Otherwise the rows are read
    # in order here, and each problem is named as a walk entry by entry would name it.
    if workers > 1 and low == 0 and high == count - 1 and shared:
        calls = [
            (url, start, min(start + width, count), bits, walk.sizes(start, width))
            for start in range(0, count, width)
        ]
        yield from ledger_verify.in_processes(_check_range, calls, workers)
        return
    conn = session.connection()
    mark = _mark(conn.dialect)
    cursor = conn.connection.cursor()
    try:
        start = 0
        for page in _pages(session, width):
            stored = _stored_nodes(cursor, mark, start, start + width, bits)
            sizes = walk.sizes(start, len(page))
            yield ledger_verify.check_chunk(start, page, bits=bits, sizes=sizes, stored=stored)
            start += len(page)
    finally:
        cursor.close()


_worker_engines: dict[str, Any] = {}


def _check_range(
    url: str, start: int, stop: int, bits: int, sizes: list[int]
) -> ledger_verify.ChunkResult:
    """In a worker process: read entries [start, stop) and their subtree hashes, check them."""
    from onewindow.kit.db import make_engine

    engine = _worker_engines.get(url)
    if engine is None:
        engine = _worker_engines[url] = make_engine(url, poolclass=NullPool)
    raw = engine.raw_connection()  # plain reads: no BEGIN IMMEDIATE, no writer lock
    try:
        cursor = raw.cursor()
        mark = _mark(engine.dialect)
        rows = _range_rows(cursor, mark, start, stop)
        stored = _stored_nodes(cursor, mark, start, stop, bits)
    finally:
        raw.close()
    return ledger_verify.check_chunk(start, rows, bits=bits, sizes=sizes, stored=stored)


def verify_export(
    export: Iterable[str] | Path,
    head: Mapping[str, Any],
    public: Ed25519PublicKey,
    *,
    workers: int | None = None,
    bits: int = ledger_verify.DEFAULT_BITS,
) -> Verdict:
    """Offline: an export (JSON lines, or the file holding them) against one signed tree head
    and its public key. From a file, worker processes read their parts of it themselves."""
    heads = _signed_heads([("", head)], public)
    if isinstance(heads, Verdict):
        return heads
    walk = ledger_verify.Walk(heads, bits=bits)
    if isinstance(export, Path):
        chunks = ledger_verify.export_file_chunks(export, walk, workers, bits)
    else:
        chunks = ledger_verify.export_chunks(export, walk, workers, bits)
    verdict = walk.run(chunks)
    if verdict.ok and verdict.size != int(head["size"]):
        # Entries past the head are not covered by it; say so but accept the covered prefix.
        verdict.problem = f"{verdict.size - int(head['size'])} entries are newer than the head"
    return verdict
