"""Filters (筛选): keep the cases of some services, departments, channels, a period,
some variants, or with an attribute value. Every filter keeps or drops whole cases, so
the analyses never see half a case; filters combine with AND, values of one filter
with OR.

- ``services``: the case's ``case:service``;
- ``departments``: the case has an event handled by one of them (``org:group``);
- ``channels``: the case's ``case:channel`` (or the event column ``channel``);
- ``since`` / ``until``: the case *started* in [since, until);
- ``variants``: the case's activity sequence is one of these, given as 1-based ranks
  by frequency (``"1"``, ``"2"``) or as labels (``"提交申请 → 受理 → 办结"``), after the
  other filters;
- ``attributes``: ``{key: [values]}``, the case has an event or case attribute ``key``
  with one of the values (compared as text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from onewindow.kit.errors import ValidationFailed
from onewindow.mining.frame import (
    ACTIVITY,
    CASE_ID,
    CHANNEL,
    GROUP,
    SERVICE_KEY,
    TIMESTAMP,
    EventFrame,
    lazy,
    require_columns,
)

__all__ = ["LogFilter", "apply_filter", "describe", "parse_attribute_filters"]


@dataclass
class LogFilter:
    services: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    variants: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    lifecycle: str | None = "complete"

    @property
    def active(self) -> bool:
        return bool(
            self.services
            or self.departments
            or self.channels
            or self.since
            or self.until
            or self.variants
            or self.attributes
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "services": self.services,
            "departments": self.departments,
            "channels": self.channels,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "variants": self.variants,
            "attributes": self.attributes,
        }


def parse_attribute_filters(pairs: Sequence[str]) -> dict[str, list[str]]:
    """``["key=value", "key=other"]`` → ``{"key": ["value", "other"]}``.

    Raises:
        ValidationFailed: a pair without ``=``.
    """
    out: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationFailed(
                f"attribute filter {pair!r} is not key=value",
                message_zh=f"属性筛选 {pair!r} 应写作 键=值",
                code="mining.filter_invalid",
            )
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _missing(column: str, what: str) -> ValidationFailed:
    return ValidationFailed(
        f"cannot filter by {what}: the log has no column {column}",
        message_zh=f"无法按{what}筛选：日志中没有列 {column}",
        code="mining.filter_column_missing",
        details={"column": column},
    )


def _cases_where(frame: pl.LazyFrame, condition: pl.Expr) -> pl.LazyFrame:
    return frame.filter(condition).select(CASE_ID).unique()


def apply_filter(log: EventFrame, spec: LogFilter | None) -> pl.DataFrame:
    """The events of the cases that pass every filter of ``spec`` (input order kept).

    Raises:
        ValidationFailed: a filter names a column the log does not have.
    """
    require_columns(log, CASE_ID, ACTIVITY, TIMESTAMP)
    frame = lazy(log).with_columns(pl.col(CASE_ID).cast(pl.String))
    if spec is None or not spec.active:
        return frame.collect()
    names = frame.collect_schema().names()
    keep: list[pl.LazyFrame] = []
    if spec.services:
        if SERVICE_KEY not in names:
            raise _missing(SERVICE_KEY, "service 事项")
        keep.append(_cases_where(frame, pl.col(SERVICE_KEY).cast(pl.String).is_in(spec.services)))
    if spec.departments:
        if GROUP not in names:
            raise _missing(GROUP, "department 部门")
        keep.append(_cases_where(frame, pl.col(GROUP).cast(pl.String).is_in(spec.departments)))
    if spec.channels:
        column = CHANNEL if CHANNEL in names else "channel" if "channel" in names else None
        if column is None:
            raise _missing(CHANNEL, "channel 渠道")
        keep.append(_cases_where(frame, pl.col(column).cast(pl.String).is_in(spec.channels)))
    if spec.since is not None or spec.until is not None:
        first = frame.group_by(CASE_ID).agg(pl.col(TIMESTAMP).min().alias("@@first"))
        cond = pl.lit(True)
        if spec.since is not None:
            cond = cond & (pl.col("@@first") >= _utc(spec.since))
        if spec.until is not None:
            cond = cond & (pl.col("@@first") < _utc(spec.until))
        keep.append(first.filter(cond).select(CASE_ID))
    for key, values in spec.attributes.items():
        if key not in names:
            raise _missing(key, f"attribute {key}")
        keep.append(_cases_where(frame, pl.col(key).cast(pl.String).is_in(values)))
    out = frame
    for cases in keep:
        out = out.join(cases, on=CASE_ID, how="semi", maintain_order="left")
    result = out.collect()
    if spec.variants:
        result = _keep_variants(result, spec.variants, spec.lifecycle)
    return result


def _keep_variants(
    frame: pl.DataFrame, wanted: Sequence[str], lifecycle: str | None
) -> pl.DataFrame:
    from onewindow.mining.maps import VARIANT_SEPARATOR, variants
    from onewindow.mining.prepared import prepare

    prep = prepare(frame, lifecycle)
    found = variants(prep)
    chosen: set[tuple[str, ...]] = set()
    for item in wanted:
        text = item.strip()
        if text.isdigit():
            rank = int(text)
            if 1 <= rank <= len(found):
                chosen.add(found[rank - 1].activities)
            continue
        chosen.add(tuple(a.strip() for a in text.split(VARIANT_SEPARATOR.strip())))
    keys = ["\x1f".join(t) for t in chosen]
    keep = (
        prep.kept.group_by(CASE_ID)
        .agg(pl.col(ACTIVITY).str.join("\x1f").alias("@@key"))
        .filter(pl.col("@@key").is_in(keys))
        .select(CASE_ID)
    )
    return frame.join(keep, on=CASE_ID, how="semi", maintain_order="left")


def describe(spec: LogFilter | None) -> Mapping[str, Any] | None:
    return None if spec is None or not spec.active else spec.as_dict()
