"""JSON Schemas (draft 2020-12) of ``onewindow mining report`` and ``… compare`` output.

Shipped with the package so other tools can validate what we write; print them with
``onewindow mining schema [report|compare]``. The fields are explained in
``docs/mining-report.md``. Durations are seconds, shares are fractions (0–1), instants
ISO 8601 with offset.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["COMPARE_SCHEMA", "REPORT_SCHEMA"]

_NUM: Final = {"type": ["number", "null"]}
_INT: Final = {"type": "integer", "minimum": 0}
_STR: Final = {"type": "string"}
_OPT_STR: Final = {"type": ["string", "null"]}
_SHARE: Final = {"type": "number", "minimum": 0}
_TIME: Final = {"type": ["string", "null"], "format": "date-time"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_WAIT_STATS: Final = {
    "mean_seconds": _NUM,
    "median_seconds": _NUM,
    "p90_seconds": _NUM,
    "max_seconds": _NUM,
    "total_seconds": _NUM,
}

_EDGE: Final = _obj(
    {
        "source": _STR,
        "target": _STR,
        "count": _INT,
        "cases": _INT,
        "mean_seconds": _NUM,
        "median_seconds": _NUM,
        "p90_seconds": _NUM,
        "max_seconds": _NUM,
    },
    {"min_seconds": _NUM, "total_seconds": _NUM},
)
_ENDPOINT: Final = _obj({"activity": _STR, "cases": _INT})
_ACTIVITY: Final = _obj(
    {
        "activity": _STR,
        "count": _INT,
        "cases": _INT,
        "service_mean_seconds": _NUM,
        "service_median_seconds": _NUM,
        "service_p90_seconds": _NUM,
        "waiting_mean_seconds": _NUM,
        "waiting_median_seconds": _NUM,
        "waiting_p90_seconds": _NUM,
        "waiting_total_seconds": _NUM,
        "waiting_share_of_cycle_time": _NUM,
    }
)
_VARIANT: Final = _obj(
    {
        "rank": {"type": "integer", "minimum": 1},
        "activities": {"type": "array", "items": _STR},
        "cases": _INT,
        "frequency": _SHARE,
        "coverage": _SHARE,
        "mean_duration_seconds": _NUM,
        "median_duration_seconds": _NUM,
        "happy_path": {"type": "boolean"},
    }
)
_BOTTLENECK: Final = _obj(
    {
        "rank": {"type": "integer", "minimum": 1},
        "kind": {"enum": ["activity", "handoff", "department_handoff"]},
        "name": _STR,
        "source": _OPT_STR,
        "target": _STR,
        "count": _INT,
        **_WAIT_STATS,
        "share_of_cycle_time": _SHARE,
        "sentence": _STR,
    }
)
_HANDOFF: Final = _obj(
    {
        "from_department": _STR,
        "to_department": _STR,
        "count": _INT,
        "cases": _INT,
        **_WAIT_STATS,
        "share_of_cycle_time": _SHARE,
    }
)
_TRIPS: Final = _obj(
    {
        "activities": {"type": "array", "items": _STR},
        "cases": _INT,
        "mean_trips": _NUM,
        "at_most_one_share": _SHARE,
        "zero_trip_share": _SHARE,
        "distribution": {"type": "array", "items": _obj({"trips": _INT, "cases": _INT})},
    },
    {"by_group": {"type": ["array", "null"]}},
)
_RETURNS: Final = _obj(
    {
        "activities": {"type": "array", "items": _STR},
        "cases": _INT,
        "cases_with_returns": _INT,
        "share": _SHARE,
        "total_returns": _INT,
        "mean_per_case": _NUM,
        "distribution": {"type": "array", "items": _obj({"returns": _INT, "cases": _INT})},
        "group_by": _OPT_STR,
        "by_group": {"type": ["array", "null"]},
    }
)
_PING_PONG: Final = _obj(
    {
        "cases": _INT,
        "ping_pong_cases": _INT,
        "share": _SHARE,
        "occurrences": _INT,
        "pairs": {
            "type": "array",
            "items": _obj(
                {"department_a": _STR, "department_b": _STR, "occurrences": _INT, "cases": _INT}
            ),
        },
    }
)
_REWORK: Final = _obj(
    {
        "cases": _INT,
        "rework_cases": _INT,
        "rework_share": _SHARE,
        "activities": {
            "type": "array",
            "items": _obj(
                {
                    "activity": _STR,
                    "cases": _INT,
                    "rework_cases": _INT,
                    "extra_executions": _INT,
                    "rework_share": _SHARE,
                }
            ),
        },
        "ping_pong": _nullable(_PING_PONG),
    },
    {"return_activity": _OPT_STR, "return_cases": _INT, "return_share": _SHARE},
)
_DUPLICATES: Final = _obj(
    {
        "fields_checked": {"type": "array", "items": _STR},
        "cases": _INT,
        "cases_with_duplicates": _INT,
        "share": _SHARE,
        "fields": {
            "type": "array",
            "items": _obj(
                {
                    "field": _STR,
                    "cases": _INT,
                    "duplicate_cases": _INT,
                    "share": _SHARE,
                    "same_value_cases": _INT,
                    "steps": {
                        "type": "array",
                        "items": _obj({"activity": _STR, "cases": _INT}),
                    },
                }
            ),
        },
    },
    {"identifier_like_fields": {"type": "array", "items": _STR}},
)
_QUEUES: Final = _obj(
    {
        "interval": _STR,
        "span_seconds": _NUM,
        "activities": {
            "type": "array",
            "items": _obj(
                {"activity": _STR, "mean_length": _NUM, "max_length": _INT, "max_at": _TIME}
            ),
        },
        "series": {
            "type": "array",
            "items": _obj(
                {
                    "activity": _STR,
                    "points": {
                        "type": "array",
                        "items": _obj({"at": _TIME, "length": {"type": "integer"}}),
                    },
                }
            ),
        },
    }
)
_SLA: Final = _obj(
    {
        "cases": _INT,
        "on_time": _INT,
        "on_time_share": _SHARE,
        "overdue": _INT,
        "overdue_share": _SHARE,
        "without_limit": _INT,
        "open_cases": _INT,
        "mean_workdays": _NUM,
        "mean_workdays_over": _NUM,
        "max_workdays_over": {"type": ["integer", "null"]},
        "overdue_cases": {
            "type": "array",
            "items": _obj(
                {
                    "case": _STR,
                    "start": _TIME,
                    "end": _TIME,
                    "deadline": _TIME,
                    "workdays_over": _INT,
                }
            ),
        },
        "notes": {"type": "array", "items": _STR},
    },
    {"by_group": {"type": ["array", "null"]}},
)
_METRIC: Final = _obj(
    {
        "name": _STR,
        "n_before": _INT,
        "n_after": _INT,
        "mean_before": _NUM,
        "mean_after": _NUM,
        "ci_before": {"type": "array", "items": _NUM, "minItems": 2, "maxItems": 2},
        "ci_after": {"type": "array", "items": _NUM, "minItems": 2, "maxItems": 2},
        "change": _NUM,
        "relative_change": _NUM,
        "diff_ci": {"type": "array", "items": _NUM, "minItems": 2, "maxItems": 2},
        "u": _NUM,
        "p_value": _NUM,
    }
)
_DIFF_EDGE: Final = _obj(
    {
        "source": _STR,
        "target": _STR,
        "status": {"enum": ["added", "removed", "both"]},
        "count_before": _INT,
        "count_after": _INT,
        "per100_before": _NUM,
        "per100_after": _NUM,
        "per100_change": _NUM,
        "mean_seconds_before": _NUM,
        "mean_seconds_after": _NUM,
        "mean_seconds_change": _NUM,
    }
)
_COMPARISON: Final = _obj(
    {
        "label_before": _STR,
        "label_after": _STR,
        "cases_before": _INT,
        "cases_after": _INT,
        "metrics": {"type": "array", "items": _METRIC},
        "edges": {"type": "array", "items": _DIFF_EDGE},
    },
    {"events_before": _INT, "events_after": _INT},
)

REPORT_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://onewindow.example/schemas/mining-report-1.json",
    "title": "onewindow process-mining report",
    **_obj(
        {
            "schema_version": {"const": "1"},
            "cases": _INT,
            "events": _INT,
            "period": _obj({"start": _TIME, "end": _TIME}),
            "cycle_time": _obj(
                {
                    "mean_seconds": _NUM,
                    "median_seconds": _NUM,
                    "p90_seconds": _NUM,
                    "max_seconds": _NUM,
                    "total_seconds": _NUM,
                }
            ),
            "process_map": _obj(
                {
                    "cases": _INT,
                    "events": _INT,
                    "edges": {"type": "array", "items": _EDGE},
                    "start_activities": {"type": "array", "items": _ENDPOINT},
                    "end_activities": {"type": "array", "items": _ENDPOINT},
                },
                {"lifecycle": _OPT_STR},
            ),
            "activities": {"type": "array", "items": _ACTIVITY},
            "variant_count": _INT,
            "variants": {"type": "array", "items": _VARIANT},
            "happy_path": _nullable(_VARIANT),
            "bottlenecks": {"type": "array", "items": _BOTTLENECK},
            "trips": _nullable(_TRIPS),
            "returns": _nullable(_RETURNS),
            "rework": _REWORK,
            "handoffs": {"type": "array", "items": _HANDOFF},
            "duplicate_entry": _nullable(_DUPLICATES),
            "queues": _nullable(_QUEUES),
            "sla": _nullable(_SLA),
            "notes": {"type": "array", "items": _STR},
        },
        {
            "title": _STR,
            "source": _OPT_STR,
            "generated_at": _TIME,
            "filters": {"type": ["object", "null"]},
            "conformance": {"type": ["object", "null"]},
            "comparison": _nullable(_COMPARISON),
            "import": {"type": ["object", "null"]},
        },
    ),
}

COMPARE_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://onewindow.example/schemas/mining-compare-1.json",
    "title": "onewindow before/after comparison",
    **_obj(
        {
            "schema_version": {"const": "1"},
            "before": _obj({"source": _OPT_STR, "cases": _INT, "events": _INT}),
            "after": _obj({"source": _OPT_STR, "cases": _INT, "events": _INT}),
            "comparison": _COMPARISON,
        },
        {"generated_at": _TIME, "filters": {"type": ["object", "null"]}},
    ),
}
