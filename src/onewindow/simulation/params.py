"""The simulation parameters file (YAML) and its check against a process model.

```yaml
calendar: working_days        # or always; working_days = the platform calendar, 09:00–17:00
hours: ["09:00", "17:00"]     # optional, office hours for working_days
start: 2026-03-02T09:00:00+08:00   # optional, when the simulated period begins
arrivals: {distribution: exponential, mean_minutes: 10}   # inter-arrival time
#   or fitted rates: {rates_per_hour: {mon: [24 numbers], tue: [...], ...}}
resources: {Lane_window: 3, 市场监管: {count: 2, calendar: always}}   # lane id or name
applicant: {lanes: [Lane_applicant], response: {distribution: lognormal, mean_days: 2, sd_days: 1}}
activities:
  Task_accept: {distribution: gamma, mean_minutes: 25, sd_minutes: 10}
  # exponential (mean), normal / lognormal / gamma (mean, sd), fixed (mean),
  # uniform (min, max), empirical (values: quantiles, sampled with interpolation)
gateways: {Flow_incomplete: 0.3}   # probability of taking a flow (or {Gateway: {Flow: p}})
gateways_on_repeat: {Flow_incomplete: 0.02}   # optional: a case's 2nd and later passes
in_person: [Task_accept, Task_issue]   # tasks the applicant must attend (trips)
messages:                          # when a message arrives after its catch event is reached
  background_check_done: {distribution: lognormal, mean_days: 2, sd_days: 1}  # name or id
boundary: {Boundary_error: 0.05}   # error/escalation/message boundary: P(fires) per task
multi_instance: {Task_vote: {instances: 3, complete_after: 2}}   # override the model's
```

Behind an event-based gateway the first of its timer and message events wins. A multi-
instance task runs ``instances`` times (in parallel, each taking a member of staff, or one
after another) and is done when ``complete_after`` instances are (default: the model's
completion condition, else all).

Times are minutes unless a key says ``_hours`` or ``_days`` (``mean_days: 2``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from os import PathLike
from pathlib import Path
from typing import Any, Final

import yaml

from onewindow.kit.errors import ValidationFailed
from onewindow.simulation.model import ProcessModel

__all__ = [
    "ArrivalSpec",
    "Distribution",
    "LaneBinding",
    "ModelBinding",
    "ResourceSpec",
    "SimParams",
    "bind",
    "dump_params",
    "load_params",
    "parse_params",
]

DISTRIBUTIONS: Final = (
    "exponential",
    "normal",
    "lognormal",
    "gamma",
    "fixed",
    "uniform",
    "empirical",
)
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_UNITS: Final = {"_minutes": 1.0, "_hours": 60.0, "_days": 1440.0}
_TOLERANCE: Final = 1e-6
_APPLICANT_HINTS: Final = ("applicant", "申请人", "APPLICANT")
_KNOWN_KEYS: Final = frozenset(
    {
        "calendar",
        "hours",
        "start",
        "arrivals",
        "resources",
        "applicant",
        "activities",
        "gateways",
        "gateways_on_repeat",
        "in_person",
        "names",
        "messages",
        "boundary",
        "multi_instance",
    }
)


def invalid_params(message: str, message_zh: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        message, message_zh=message_zh, code="simulation.params_invalid", details=details or None
    )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid_params(
            f"{where} must be a number, got {value!r}", f"{where} 应为数字，实际为 {value!r}"
        )
    return float(value)


def _minutes(spec: Mapping[str, Any], base: str, where: str) -> float | None:
    for suffix, factor in _UNITS.items():
        if base + suffix in spec:
            return _number(spec[base + suffix], f"{where}.{base}{suffix}") * factor
    if base in spec:
        return _number(spec[base], f"{where}.{base}")
    return None


@dataclass(frozen=True)
class Distribution:
    """A duration distribution in minutes; ``values`` are sorted quantiles (empirical)."""

    kind: str
    mean: float = 0.0
    sd: float = 0.0
    low: float = 0.0
    high: float = 0.0
    values: tuple[float, ...] = ()

    @classmethod
    def from_spec(cls, spec: Any, where: str) -> Distribution:
        """Raises ValidationFailed naming ``where`` for an unknown kind or bad numbers."""
        if isinstance(spec, int | float) and not isinstance(spec, bool):
            return cls("fixed", mean=_number(spec, where))
        if not isinstance(spec, Mapping):
            raise invalid_params(
                f"{where} must be a mapping like {{distribution: exponential, mean_minutes: 10}}",
                f"{where} 应为映射，如 {{distribution: exponential, mean_minutes: 10}}",
            )
        kind = str(spec.get("distribution", "fixed")).lower()
        if kind not in DISTRIBUTIONS:
            raise invalid_params(
                f"{where}: unknown distribution {kind!r} (use one of {', '.join(DISTRIBUTIONS)})",
                f"{where}：未知分布 {kind!r}（可选 {', '.join(DISTRIBUTIONS)}）",
            )
        mean = _minutes(spec, "mean", where)
        sd = _minutes(spec, "sd", where)
        if kind == "empirical":
            raw = next(
                (
                    (spec[f"values{suffix}"], factor)
                    for suffix, factor in (*_UNITS.items(), ("", 1.0))
                    if f"values{suffix}" in spec
                ),
                None,
            )
            if raw is None or not isinstance(raw[0], list) or not raw[0]:
                raise invalid_params(
                    f"{where}: an empirical distribution needs a non-empty list values_minutes",
                    f"{where}：经验分布需要非空列表 values_minutes",
                )
            values = tuple(sorted(_number(v, where) * raw[1] for v in raw[0]))
            if values[0] < 0:
                raise invalid_params(f"{where}: negative durations", f"{where}：时长不能为负")
            return cls("empirical", mean=sum(values) / len(values), values=values)
        if kind == "uniform":
            low = _minutes(spec, "min", where)
            high = _minutes(spec, "max", where)
            if low is None or high is None or not 0 <= low <= high:
                raise invalid_params(
                    f"{where}: uniform needs 0 <= min_minutes <= max_minutes",
                    f"{where}：均匀分布需要 0 <= min_minutes <= max_minutes",
                )
            return cls("uniform", mean=(low + high) / 2, low=low, high=high)
        if mean is None and kind == "fixed":
            mean = _minutes(spec, "value", where)
        if mean is None:
            raise invalid_params(
                f"{where}: {kind} needs mean_minutes (or mean_hours / mean_days)",
                f"{where}：{kind} 分布需要 mean_minutes（或 mean_hours / mean_days）",
            )
        if mean < 0 or (kind in ("exponential", "lognormal", "gamma") and mean <= 0):
            raise invalid_params(
                f"{where}: mean must be positive, got {mean}", f"{where}：均值应为正数（{mean}）"
            )
        if kind in ("normal", "lognormal", "gamma"):
            if sd is None or sd < 0 or (kind != "normal" and sd == 0):
                raise invalid_params(
                    f"{where}: {kind} needs a positive sd_minutes",
                    f"{where}：{kind} 分布需要正的 sd_minutes",
                )
            return cls(kind, mean=mean, sd=sd)
        return cls(kind, mean=mean)

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"distribution": self.kind}
        if self.kind == "empirical":
            spec["values_minutes"] = [round(v, 3) for v in self.values]
        elif self.kind == "uniform":
            spec["min_minutes"], spec["max_minutes"] = round(self.low, 3), round(self.high, 3)
        else:
            spec["mean_minutes"] = round(self.mean, 3)
            if self.kind in ("normal", "lognormal", "gamma"):
                spec["sd_minutes"] = round(self.sd, 3)
        return spec

    def scaled(self, factor: float) -> Distribution:
        """The same shape, every duration multiplied by ``factor``."""
        return Distribution(
            self.kind,
            self.mean * factor,
            self.sd * factor,
            self.low * factor,
            self.high * factor,
            tuple(v * factor for v in self.values),
        )

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A zero-argument function drawing one duration (minutes, never negative)."""
        kind, mean, sd = self.kind, self.mean, self.sd
        if kind == "exponential":
            rate = 1.0 / mean
            expo = rng.expovariate
            return lambda: expo(rate)
        if kind == "fixed":
            return lambda: mean
        if kind == "uniform":
            low, span, rand = self.low, self.high - self.low, rng.random
            return lambda: low + span * rand()
        if kind == "lognormal":
            sigma = math.sqrt(math.log1p((sd / mean) ** 2))
            mu = math.log(mean) - sigma * sigma / 2
            logn = rng.lognormvariate
            return lambda: logn(mu, sigma)
        if kind == "gamma":
            shape, scale = (mean / sd) ** 2, sd * sd / mean
            gam = rng.gammavariate
            return lambda: gam(shape, scale)
        if kind == "normal":
            gauss = rng.gauss

            def normal() -> float:
                for _ in range(20):  # truncated at zero by rejection
                    x = gauss(mean, sd)
                    if x >= 0:
                        return x
                return 0.0

            return normal
        values = self.values
        last = len(values) - 1
        rand = rng.random
        if last == 0:
            only = values[0]
            return lambda: only

        def empirical() -> float:
            u = rand() * last
            i = int(u)
            return values[i] + (u - i) * (values[i + 1] - values[i])

        return empirical


@dataclass(frozen=True)
class ArrivalSpec:
    """Inter-arrival distribution (in working time), or Poisson rates per weekday and hour."""

    interarrival: Distribution | None = None
    rates: tuple[tuple[float, ...], ...] | None = None  # 7 x 24, arrivals per hour

    def to_spec(self) -> dict[str, Any]:
        if self.rates is not None:
            return {
                "rates_per_hour": {
                    day: [round(r, 4) for r in row]
                    for day, row in zip(WEEKDAYS, self.rates, strict=True)
                }
            }
        assert self.interarrival is not None
        return self.interarrival.to_spec()

    @property
    def mean_per_hour(self) -> float:
        if self.rates is not None:
            return sum(sum(r) for r in self.rates) / (7 * 24)
        assert self.interarrival is not None
        return 60.0 / self.interarrival.mean if self.interarrival.mean else math.inf


@dataclass(frozen=True)
class ResourceSpec:
    count: int
    calendar: str | None = None  # None: the global calendar

    def to_spec(self) -> int | dict[str, Any]:
        if self.calendar is None:
            return self.count
        return {"count": self.count, "calendar": self.calendar}


@dataclass
class SimParams:
    """参数: everything the simulator needs besides the model."""

    arrivals: ArrivalSpec
    calendar: str = "working_days"
    hours: tuple[time, time] = (time(9, 0), time(17, 0))
    start: datetime | None = None
    resources: dict[str, ResourceSpec] = field(default_factory=dict)
    activities: dict[str, Distribution] = field(default_factory=dict)
    gateways: dict[str, float] = field(default_factory=dict)
    # A case's second and later passes through a gateway (a resubmission after 补正 is
    # usually complete); gateways without an entry use ``gateways`` on every pass.
    gateways_on_repeat: dict[str, float] = field(default_factory=dict)
    applicant_lanes: list[str] = field(default_factory=list)
    applicant_response: Distribution | None = None
    in_person: list[str] = field(default_factory=list)
    names: dict[str, str] = field(
        default_factory=lambda: {"arrival": "提交申请", "end": "办结", "returned": "补正通知"}
    )
    messages: dict[str, Distribution] = field(default_factory=dict)
    boundary: dict[str, float] = field(default_factory=dict)
    multi_instance: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"calendar": self.calendar}
        if self.calendar == "working_days":
            out["hours"] = [self.hours[0].strftime("%H:%M"), self.hours[1].strftime("%H:%M")]
        if self.start is not None:
            out["start"] = self.start.isoformat()
        out["arrivals"] = self.arrivals.to_spec()
        out["resources"] = {k: v.to_spec() for k, v in self.resources.items()}
        applicant: dict[str, Any] = {}
        if self.applicant_lanes:
            applicant["lanes"] = list(self.applicant_lanes)
        if self.applicant_response is not None:
            applicant["response"] = self.applicant_response.to_spec()
        if applicant:
            out["applicant"] = applicant
        out["activities"] = {k: v.to_spec() for k, v in self.activities.items()}
        out["gateways"] = {k: round(v, 6) for k, v in self.gateways.items()}
        if self.gateways_on_repeat:
            out["gateways_on_repeat"] = {k: round(v, 6) for k, v in self.gateways_on_repeat.items()}
        if self.in_person:
            out["in_person"] = list(self.in_person)
        out["names"] = dict(self.names)
        if self.messages:
            out["messages"] = {k: v.to_spec() for k, v in self.messages.items()}
        if self.boundary:
            out["boundary"] = dict(self.boundary)
        if self.multi_instance:
            out["multi_instance"] = {
                k: {
                    key: value
                    for key, value in (("instances", n), ("complete_after", k_))
                    if value is not None
                }
                for k, (n, k_) in self.multi_instance.items()
            }
        return out

    def copy(self) -> SimParams:
        return parse_params(self.to_dict())


def _calendar_kind(value: Any, where: str) -> str:
    kind = str(value).strip().lower()
    if kind not in ("always", "working_days"):
        raise invalid_params(
            f"{where} must be 'always' or 'working_days', got {value!r}",
            f"{where} 应为 always 或 working_days，实际为 {value!r}",
        )
    return kind


def _clock_time(value: Any, where: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 09:00 as sexagesimal 540
        return time(value // 60, value % 60)
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise invalid_params(
            f"{where}: cannot read {value!r} as HH:MM", f"{where}：无法解析时刻 {value!r}"
        ) from exc


def _arrivals(spec: Any) -> ArrivalSpec:
    if not isinstance(spec, Mapping):
        raise invalid_params(
            "arrivals must be a mapping like {distribution: exponential, mean_minutes: 10}",
            "arrivals 应为映射，如 {distribution: exponential, mean_minutes: 10}",
        )
    if "rates_per_hour" in spec:
        table = spec["rates_per_hour"]
        if not isinstance(table, Mapping):
            raise invalid_params(
                "arrivals.rates_per_hour must map weekdays (mon..sun) to 24 hourly rates",
                "arrivals.rates_per_hour 应为 星期(mon..sun) -> 24 个小时到达率",
            )
        unknown = sorted(str(k) for k in table if str(k).lower() not in WEEKDAYS)
        if unknown:
            raise invalid_params(
                f"arrivals.rates_per_hour: unknown weekdays {', '.join(unknown)}",
                f"arrivals.rates_per_hour：未知星期 {', '.join(unknown)}",
            )
        rows: list[tuple[float, ...]] = []
        lowered = {str(k).lower(): v for k, v in table.items()}
        for day in WEEKDAYS:
            row = lowered.get(day, [0.0] * 24)
            if not isinstance(row, list) or len(row) != 24:
                raise invalid_params(
                    f"arrivals.rates_per_hour.{day} must list 24 hourly rates",
                    f"arrivals.rates_per_hour.{day} 应为 24 个小时到达率",
                )
            values = tuple(_number(v, f"arrivals.rates_per_hour.{day}") for v in row)
            if min(values) < 0:
                raise invalid_params(
                    f"arrivals.rates_per_hour.{day}: negative rate",
                    f"arrivals.rates_per_hour.{day}：到达率不能为负",
                )
            rows.append(values)
        if not any(any(r) for r in rows):
            raise invalid_params(
                "arrivals.rates_per_hour: every rate is zero, no case would arrive",
                "arrivals.rates_per_hour：到达率全为零，不会有办件到达",
            )
        return ArrivalSpec(rates=tuple(rows))
    return ArrivalSpec(interarrival=Distribution.from_spec(spec, "arrivals"))


def _resources(spec: Any) -> dict[str, ResourceSpec]:
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise invalid_params(
            "resources must map lanes to staff counts, like {Lane_window: 3}",
            "resources 应为 泳道 -> 人数 的映射，如 {Lane_window: 3}",
        )
    out: dict[str, ResourceSpec] = {}
    for key, value in spec.items():
        where = f"resources.{key}"
        calendar = None
        if isinstance(value, Mapping):
            calendar = _calendar_kind(value["calendar"], where) if "calendar" in value else None
            value = value.get("count")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid_params(
                f"{where}: a lane needs a whole number of staff >= 1, got {value!r}",
                f"{where}：泳道人数应为 >= 1 的整数，实际为 {value!r}",
                lane=str(key),
            )
        out[str(key)] = ResourceSpec(value, calendar)
    return out


def parse_params(data: Any, *, source: str = "parameters") -> SimParams:
    """Build parameters from the YAML mapping.

    Raises:
        ValidationFailed (``simulation.params_invalid``): unknown keys, bad numbers,
            unknown distributions, probabilities outside [0, 1] — each named.
    """
    if not isinstance(data, Mapping):
        raise invalid_params(f"{source} must be a YAML mapping", f"{source} 应为 YAML 映射")
    unknown = sorted(str(k) for k in data if k not in _KNOWN_KEYS)
    if unknown:
        raise invalid_params(
            f"{source}: unknown keys {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_KNOWN_KEYS))})",
            f"{source}：未知字段 {', '.join(unknown)}",
            keys=unknown,
        )
    if "arrivals" not in data:
        raise invalid_params(f"{source}: arrivals is missing", f"{source}：缺少 arrivals")
    params = SimParams(arrivals=_arrivals(data["arrivals"]))
    params.calendar = _calendar_kind(data.get("calendar", "working_days"), "calendar")
    hours = data.get("hours")
    if hours is not None:
        if not isinstance(hours, list) or len(hours) != 2:
            raise invalid_params("hours must be [open, close]", "hours 应为 [开门, 关门]")
        opens, closes = _clock_time(hours[0], "hours"), _clock_time(hours[1], "hours")
        if closes <= opens:
            raise invalid_params("hours: close before open", "hours：关门时刻早于开门时刻")
        params.hours = (opens, closes)
    start = data.get("start")
    if start is not None:
        if isinstance(start, str):
            try:
                start = datetime.fromisoformat(start)
            except ValueError as exc:
                raise invalid_params(
                    f"start: cannot read {start!r}", f"start：无法解析 {start!r}"
                ) from exc
        if isinstance(start, date) and not isinstance(start, datetime):
            start = datetime.combine(start, params.hours[0])
        if not isinstance(start, datetime) or start.tzinfo is None:
            raise invalid_params(
                "start must be a date-time with a UTC offset, e.g. 2026-03-02T09:00:00+08:00",
                "start 应为带时区的时间，如 2026-03-02T09:00:00+08:00",
            )
        params.start = start
    params.resources = _resources(data.get("resources"))
    activities = data.get("activities") or {}
    if not isinstance(activities, Mapping):
        raise invalid_params("activities must be a mapping", "activities 应为映射")
    params.activities = {
        str(k): Distribution.from_spec(v, f"activities.{k}") for k, v in activities.items()
    }
    params.gateways = _gateways(data.get("gateways") or {}, "gateways")
    params.gateways_on_repeat = _gateways(
        data.get("gateways_on_repeat") or {}, "gateways_on_repeat"
    )
    applicant = data.get("applicant") or {}
    if not isinstance(applicant, Mapping):
        raise invalid_params("applicant must be a mapping", "applicant 应为映射")
    params.applicant_lanes = [str(x) for x in applicant.get("lanes", [])]
    if applicant.get("response") is not None:
        params.applicant_response = Distribution.from_spec(
            applicant["response"], "applicant.response"
        )
    params.in_person = [str(x) for x in data.get("in_person") or []]
    names = data.get("names") or {}
    if isinstance(names, Mapping):
        params.names.update({str(k): str(v) for k, v in names.items()})
    messages = data.get("messages") or {}
    if not isinstance(messages, Mapping):
        raise invalid_params("messages must be a mapping", "messages 应为映射")
    params.messages = {
        str(k): Distribution.from_spec(v, f"messages.{k}") for k, v in messages.items()
    }
    boundary = data.get("boundary") or {}
    if not isinstance(boundary, Mapping):
        raise invalid_params(
            "boundary must map boundary events to probabilities", "boundary 应为映射"
        )
    for key, value in boundary.items():
        prob = _number(value, f"boundary.{key}")
        if not 0.0 <= prob <= 1.0:
            raise invalid_params(
                f"boundary.{key}: probability {prob} is outside [0, 1]",
                f"boundary.{key}：概率 {prob} 不在 [0, 1] 内",
            )
        params.boundary[str(key)] = prob
    params.multi_instance = _multi_instance(data.get("multi_instance") or {})
    return params


def _multi_instance(spec: Any) -> dict[str, tuple[int | None, int | None]]:
    if not isinstance(spec, Mapping):
        raise invalid_params("multi_instance must be a mapping", "multi_instance 应为映射")
    out: dict[str, tuple[int | None, int | None]] = {}
    for key, value in spec.items():
        where = f"multi_instance.{key}"
        if not isinstance(value, Mapping):
            raise invalid_params(
                f"{where} must be a mapping like {{instances: 3, complete_after: 2}}",
                f"{where} 应为映射，如 {{instances: 3, complete_after: 2}}",
            )
        pair: list[int | None] = []
        for field_name in ("instances", "complete_after"):
            raw = value.get(field_name)
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int) or raw < 1):
                raise invalid_params(
                    f"{where}.{field_name} must be a whole number >= 1, got {raw!r}",
                    f"{where}.{field_name} 应为 >= 1 的整数，实际为 {raw!r}",
                )
            pair.append(raw)
        out[str(key)] = (pair[0], pair[1])
    return out


def _gateways(spec: Any, where: str) -> dict[str, float]:
    if not isinstance(spec, Mapping):
        raise invalid_params(
            f"{where} must map flow ids to probabilities", f"{where} 应为 流向 -> 概率 的映射"
        )
    out: dict[str, float] = {}
    for key, value in spec.items():
        pairs = value.items() if isinstance(value, Mapping) else [(key, value)]
        for flow, p in pairs:
            prob = _number(p, f"{where}.{flow}")
            if not 0.0 <= prob <= 1.0:
                raise invalid_params(
                    f"{where}.{flow}: probability {prob} is outside [0, 1]",
                    f"{where}.{flow}：概率 {prob} 不在 [0, 1] 内",
                    flow=str(flow),
                )
            out[str(flow)] = prob
    return out


def load_params(path: str | PathLike[str]) -> SimParams:
    """Raises ValidationFailed for an unreadable file, bad YAML or bad parameters."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise invalid_params(
            f"cannot read parameters file {path}: {exc.strerror or exc}",
            f"无法读取参数文件 {path}：{exc.strerror or exc}",
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise invalid_params(
            f"{path} is not valid YAML: {exc}", f"{path} 不是有效的 YAML：{exc}"
        ) from exc
    return parse_params(data, source=str(path))


def dump_params(params: SimParams) -> str:
    return yaml.safe_dump(params.to_dict(), allow_unicode=True, sort_keys=False, width=100)


# --------------------------------------------------------------------------- binding


@dataclass(frozen=True)
class LaneBinding:
    lane_id: str
    label: str
    count: int  # 0: no queue (applicant or automated)
    calendar: str  # always | working_days
    applicant: bool


@dataclass
class ModelBinding:
    """Parameters checked against one model: what each lane, task and gateway gets."""

    lanes: dict[str, LaneBinding]
    durations: dict[str, Distribution]  # task id -> duration (automated tasks may be absent)
    branches: dict[str, list[tuple[str, float]]]  # gateway id -> (flow id, probability)
    in_person: frozenset[str]
    applicant_tasks: frozenset[str]
    # The same for a case's later passes, for gateways that have their own (same flow order).
    repeat_branches: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    # catch event / receive task id -> when its message arrives (absent: at once)
    messages: dict[str, Distribution] = field(default_factory=dict)
    boundary: dict[str, float] = field(default_factory=dict)  # boundary id -> P(fires)
    # multi-instance task id -> (instances, complete after)
    multi: dict[str, tuple[int, int]] = field(default_factory=dict)


def _is_applicant_lane(lane_id: str, label: str, declared: list[str]) -> bool:
    if declared:
        return lane_id in declared or label in declared
    return any(h.lower() in (lane_id + " " + label).lower() for h in _APPLICANT_HINTS)


def bind(model: ProcessModel, params: SimParams) -> ModelBinding:
    """Check the parameters against the model and resolve names to element ids.

    Raises:
        ValidationFailed (``simulation.params_invalid``): a lane with tasks but no
            resources, references to lanes, tasks or flows the model lacks, gateway
            probabilities that do not sum to one, tasks without a duration — each named.
    """
    problems: list[str] = []
    lanes: dict[str, LaneBinding] = {}
    used: set[str] = set()
    repeat = params.gateways_on_repeat
    for key in params.applicant_lanes:
        if model.lane_of_name(key) is None:
            problems.append(f"applicant.lanes: no lane {key!r} in the model")
    for lane in model.lanes.values():
        applicant = _is_applicant_lane(lane.id, lane.name, params.applicant_lanes)
        spec = params.resources.get(lane.id) or params.resources.get(lane.name)
        for key in (lane.id, lane.name):
            if key in params.resources:
                used.add(key)
        staffed = [
            model.nodes[n].id
            for n in lane.nodes
            if n in model.nodes and model.nodes[n].kind == "task" and not model.nodes[n].automated
        ]
        if applicant:
            lanes[lane.id] = LaneBinding(lane.id, lane.label, 0, "always", True)
        elif spec is None:
            if staffed:
                problems.append(
                    f"lane {lane.id} ({lane.label}) has tasks {', '.join(staffed)} but no "
                    "resources: add it under resources with a staff count"
                )
            lanes[lane.id] = LaneBinding(lane.id, lane.label, 0, params.calendar, False)
        else:
            lanes[lane.id] = LaneBinding(
                lane.id, lane.label, spec.count, spec.calendar or params.calendar, False
            )
    unknown_res = sorted(set(params.resources) - used)
    if unknown_res:
        problems.append(f"resources: no lane {', '.join(unknown_res)} in the model")

    applicant_tasks: set[str] = set()
    durations: dict[str, Distribution] = {}
    missing: list[str] = []
    for task in model.tasks:
        bound = lanes.get(task.lane or "")
        is_applicant = bound is not None and bound.applicant
        if is_applicant:
            applicant_tasks.add(task.id)
        dist = params.activities.get(task.id) or params.activities.get(task.name)
        if dist is None and is_applicant:
            dist = params.applicant_response
        if dist is not None:
            durations[task.id] = dist
        elif not task.automated:
            missing.append(f"{task.id} ({task.label})")
        if task.lane is None and not task.automated and not model.lanes:
            pass  # a model without lanes: tasks run with unlimited staff
        elif task.lane is None and not task.automated:
            problems.append(f"task {task.id} ({task.label}) is in no lane")
    if missing:
        problems.append(
            "no duration for tasks "
            + ", ".join(missing)
            + " (add them under activities"
            + (", or applicant.response for the applicant's tasks)" if applicant_tasks else ")")
        )
    task_keys = {t.id for t in model.tasks} | {t.name for t in model.tasks}
    unknown_tasks = sorted(set(params.activities) - task_keys)
    if unknown_tasks:
        problems.append(f"activities: no task {', '.join(unknown_tasks)} in the model")
    unknown_ip = sorted(set(params.in_person) - task_keys)
    if unknown_ip:
        problems.append(f"in_person: no task {', '.join(unknown_ip)} in the model")
    for where, table in (("gateways", params.gateways), ("gateways_on_repeat", repeat)):
        unknown_flows = sorted(set(table) - set(model.flows))
        if unknown_flows:
            problems.append(f"{where}: no sequence flow {', '.join(unknown_flows)} in the model")

    messages, boundary, multi = _bind_events(model, params, problems)
    branches: dict[str, list[tuple[str, float]]] = {}
    repeat_branches: dict[str, list[tuple[str, float]]] = {}
    for node in model.nodes.values():
        if node.kind not in ("xor", "or") or len(node.outgoing) < 2:
            continue
        branches[node.id] = _branch_table(
            node.id, node.kind, node.outgoing, node.default, params.gateways, problems
        )
        if any(f in repeat for f in node.outgoing):
            repeat_branches[node.id] = _branch_table(
                f"{node.id} (gateways_on_repeat)",
                node.kind,
                node.outgoing,
                node.default,
                repeat,
                problems,
            )
    if problems:
        raise invalid_params(
            f"the parameters do not fit the model {model.id}: " + "; ".join(problems),
            f"参数与模型 {model.id} 不匹配：" + "；".join(problems),
            problems=[{"message": p} for p in problems],
        )
    in_person = frozenset(
        t.id for t in model.tasks if t.id in params.in_person or t.name in params.in_person
    )
    return ModelBinding(
        lanes,
        durations,
        branches,
        in_person,
        frozenset(applicant_tasks),
        repeat_branches,
        messages,
        boundary,
        multi,
    )


def _bind_events(
    model: ProcessModel, params: SimParams, problems: list[str]
) -> tuple[dict[str, Distribution], dict[str, float], dict[str, tuple[int, int]]]:
    """Message arrival times, boundary probabilities and multi-instance counts."""
    messages: dict[str, Distribution] = {}
    used: set[str] = set()
    behind_gateway = {
        model.flows[f].target for n in model.nodes.values() if n.kind == "ebg" for f in n.outgoing
    }
    for node in model.nodes.values():
        if node.kind != "catch":
            continue
        key = next(
            (k for k in (node.id, node.message, node.name) if k and k in params.messages), None
        )
        if key is not None:
            messages[node.id] = params.messages[key]
            used.add(key)
        elif node.id in behind_gateway:
            problems.append(
                f"event {node.id} ({node.message or node.label}) behind an event-based gateway "
                "has no arrival time: add it under messages"
            )
    unknown = sorted(set(params.messages) - used)
    if unknown:
        problems.append(f"messages: no catch event or receive task {', '.join(unknown)}")
    unknown_b = sorted(set(params.boundary) - set(model.boundaries))
    if unknown_b:
        problems.append(f"boundary: no boundary event {', '.join(unknown_b)} in the model")
    boundary = {b: params.boundary.get(b, 0.0) for b in model.boundaries}
    multi: dict[str, tuple[int, int]] = {}
    used_mi: set[str] = set()
    for task in model.tasks:
        given = next((k for k in (task.id, task.name) if k in params.multi_instance), None)
        if task.multi is None:
            continue
        n, k = (None, None) if given is None else params.multi_instance[given]
        if given is not None:
            used_mi.add(given)
        instances = n or task.multi.instances
        if instances is None:
            problems.append(
                f"multi-instance task {task.id} ({task.label}) runs over a collection: give "
                "its number of instances under multi_instance"
            )
            continue
        after = min(k or task.multi.complete_after or instances, instances)
        multi[task.id] = (instances, after)
    for exit_id, (_, scope) in model.multi_scopes.items():
        given = exit_id if exit_id in params.multi_instance else None
        n, k = (None, None) if given is None else params.multi_instance[given]
        if given is not None:
            used_mi.add(given)
        instances = n or scope.instances
        if instances is None:
            problems.append(
                f"multi-instance {exit_id} runs over a collection: give its number of "
                "instances under multi_instance"
            )
            continue
        multi[exit_id] = (instances, min(k or scope.complete_after or instances, instances))
    unknown_mi = sorted(set(params.multi_instance) - used_mi)
    if unknown_mi:
        problems.append(f"multi_instance: no multi-instance task {', '.join(unknown_mi)}")
    return messages, boundary, multi


def _branch_table(
    gateway: str,
    kind: str,
    outgoing: list[str],
    default: str | None,
    probabilities: Mapping[str, float],
    problems: list[str],
) -> list[tuple[str, float]]:
    given = {f: probabilities[f] for f in outgoing if f in probabilities}
    if kind == "or":
        # Inclusive: each flow is taken on its own; unspecified ones always.
        return [(f, given.get(f, 1.0)) for f in outgoing]
    total = sum(given.values())
    rest = [f for f in outgoing if f not in given]
    listed = ", ".join(f"{f}={p:g}" for f, p in given.items())
    if not rest:
        if abs(total - 1.0) > _TOLERANCE:
            problems.append(f"gateway {gateway}: probabilities {listed} sum to {total:g}, not 1")
        return [(f, given[f]) for f in outgoing]
    if total > 1.0 + _TOLERANCE:
        problems.append(f"gateway {gateway}: probabilities {listed} already sum to {total:g} > 1")
        return [(f, given.get(f, 0.0)) for f in outgoing]
    remainder = max(0.0, 1.0 - total)
    # The remainder goes to the default flow when it has no probability of its own, else
    # it is shared by the flows without one.
    if default in rest:
        return [(f, given.get(f, remainder if f == default else 0.0)) for f in outgoing]
    share = remainder / len(rest)
    return [(f, given.get(f, share)) for f in outgoing]
