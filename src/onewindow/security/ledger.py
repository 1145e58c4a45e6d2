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
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from onewindow.kit.errors import ConfigurationError, NotFound, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.kit.settings import Settings
from onewindow.security import merkle
from onewindow.security.models import LedgerEntry, LedgerNode, LedgerState, TreeHead

STATE_ID = 1
_MEMO_KEY = "security.ledger.state"


@unique
class EntryKind(StrEnum):
    TASK_DECIDED = "task_decided"
    GRANT_REQUESTED = "grant_requested"
    GRANT_APPROVED = "grant_approved"
    GRANT_REVOKED = "grant_revoked"
    PERMISSION_CHANGED = "permission_changed"
    FIELD_UNMASKED = "field_unmasked"
    SHARED_DATA_READ = "shared_data_read"
    PERSONAL_DATA_REQUESTED = "personal_data_requested"
    DOCUMENT_ISSUED = "document_issued"


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed: sorted keys, no whitespace, UTF-8 (no ASCII escaping)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


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


def entries(session: Session, *, batch: int = 10_000) -> Iterator[StoredEntry]:
    """Every stored entry in index order, read in batches (plain rows, not ORM objects)."""
    last = -1
    while True:
        rows = session.execute(
            select(LedgerEntry.idx, LedgerEntry.kind, LedgerEntry.entry, LedgerEntry.leaf_hash)
            .where(LedgerEntry.idx > last)
            .order_by(LedgerEntry.idx)
            .limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield StoredEntry(r[0], r[1], r[2], r[3])
        last = rows[-1][0]


def export_line(e: StoredEntry) -> str:
    return json.dumps(
        {"index": e.idx, "entry": e.entry, "leaf_hash": e.leaf_hash}, ensure_ascii=False
    )


def export(ctx: Ctx, out: Path) -> int:
    """One JSON line per entry: ``index``, ``entry`` (the exact bytes hashed), ``leaf_hash``."""
    n = 0
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for e in entries(ctx.session):
            fh.write(export_line(e) + "\n")
            n += 1
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


# --- verification ---------------------------------------------------------------------------


@dataclass
class Verdict:
    ok: bool
    size: int
    root_hash: str
    first_bad_entry: int | None = None
    problem: str | None = None
    heads_checked: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "size": self.size,
            "root_hash": self.root_hash,
            "first_bad_entry": self.first_bad_entry,
            "problem": self.problem,
            "heads_checked": self.heads_checked,
        }


def _entry_problem(
    expected: int, index: Any, entry: Any, leaf: Any, kind: str | None
) -> str | None:
    if index != expected:
        return f"entry {expected} is missing (found index {index})"
    if not isinstance(entry, str) or not isinstance(leaf, str):
        return f"entry {expected} is malformed"
    body = entry.encode("utf-8")
    if merkle.leaf_hash(body).hex() != leaf:
        return f"entry {expected} does not match its leaf hash"
    try:
        parsed = json.loads(entry)
    except ValueError:
        return f"entry {expected} is not JSON"
    if not isinstance(parsed, dict) or canonical(parsed) != body:
        return f"entry {expected} is not canonical JSON"
    if kind is not None and parsed.get("kind") != kind:
        return f"entry {expected}: its kind column was changed"
    return None


def _walk(
    rows: Iterable[tuple[Any, Any, Any, str | None]],
    heads: Mapping[int, str],
    stored_nodes: Mapping[merkle.Node, str] | None = None,
) -> Verdict:
    """Recompute the tree from entries; compare with signed heads (size → root hash)."""
    compact = merkle.CompactRange()
    checked = 0
    bad_node: tuple[int, int] | None = None

    def on_node(level: int, index: int, h: bytes) -> None:
        nonlocal bad_node
        if stored_nodes is not None and bad_node is None:
            stored = stored_nodes.get((level, index))
            if stored is not None and stored != h.hex():
                bad_node = (level, index)

    def fail(problem: str, at: int | None) -> Verdict:
        return Verdict(False, compact.size, compact.root().hex(), at, problem, checked)

    if 0 in heads and heads[0] != merkle.EMPTY_ROOT.hex():
        return fail("a signed head of size 0 has a non-empty root", 0)
    for index, entry, leaf, kind in rows:
        expected = compact.size
        problem = _entry_problem(expected, index, entry, leaf, kind)
        if problem:
            return fail(problem, expected)
        compact.append(bytes.fromhex(leaf), on_node)
        if bad_node is not None:
            level, i = bad_node
            first = i << level
            return fail(
                f"entries {first}–{first + (1 << level) - 1} no longer add up to the stored "
                "subtree hash: an entry and its leaf hash were rewritten together",
                first,
            )
        want = heads.get(compact.size)
        if want is not None:
            checked += 1
            if compact.root().hex() != want:
                return fail(
                    f"the first {compact.size} entries do not give the signed root {want}; "
                    f"an entry below {compact.size} was rewritten with its leaf hash",
                    None,
                )
    beyond = [s for s in heads if s > compact.size]
    if beyond:
        return fail(
            f"a signed head covers {max(beyond)} entries but only {compact.size} are here: "
            f"entries from {compact.size} on were deleted",
            compact.size,
        )
    return Verdict(True, compact.size, compact.root().hex(), None, None, checked)


def verify_stored(ctx: Ctx, public: Ed25519PublicKey | None = None) -> Verdict:
    """Check every stored entry, stored subtree hash and signed tree head."""
    public = public or signing_key(ctx.settings).public_key()
    heads: dict[int, str] = {}
    for head in ctx.session.scalars(select(TreeHead).order_by(TreeHead.id)):
        problem = check_head_signature(head_json(head), public)
        if problem:
            return Verdict(False, 0, "", None, f"tree head {head.id}: {problem}")
        if heads.get(head.size, head.root_hash) != head.root_hash:
            return Verdict(False, 0, "", None, f"two signed heads of size {head.size} differ")
        heads[head.size] = head.root_hash
    stored_nodes = {
        (lv, i): h
        for lv, i, h in ctx.session.execute(
            select(LedgerNode.level, LedgerNode.idx, LedgerNode.hash)
        )
    }
    rows = ((e.idx, e.entry, e.leaf_hash, e.kind) for e in entries(ctx.session))
    verdict = _walk(rows, heads, stored_nodes)
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
    return verdict


def verify_export(
    lines: Iterable[str], head: Mapping[str, Any], public: Ed25519PublicKey
) -> Verdict:
    """Offline: an export (JSON lines) against one signed tree head and its public key."""
    problem = check_head_signature(head, public)
    if problem:
        return Verdict(False, 0, "", None, problem)

    def rows() -> Iterator[tuple[Any, Any, Any, str | None]]:
        for n, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                yield n, None, None, None
                continue
            if not isinstance(doc, dict):
                yield n, None, None, None
                continue
            yield doc.get("index"), doc.get("entry"), doc.get("leaf_hash"), None

    heads = {int(head["size"]): str(head["root_hash"])}
    verdict = _walk(rows(), heads)
    if verdict.ok and verdict.size != int(head["size"]):
        # Entries past the head are not covered by it; say so but accept the covered prefix.
        verdict.problem = f"{verdict.size - int(head['size'])} entries are newer than the head"
    return verdict
