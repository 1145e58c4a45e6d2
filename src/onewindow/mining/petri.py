"""Petri nets and token-based replay with pm4py's definition of fitness.

Token replay (Berti & van der Aalst, "Reviving token-based replay", 2019, as pm4py 2.7
implements it): each trace is replayed on the net from the initial marking; a visible
transition that is not enabled is first enabled through silent transitions along the
shortest silent paths between places, and otherwise fired anyway after adding the
missing tokens. At the end the final marking is approached through silent transitions.
With ``m`` missing, ``c`` consumed, ``r`` remaining and ``p`` produced tokens a trace's
fitness is ``½(1 − m/c) + ½(1 − r/p)``; the log's sums the counts over all traces.
Events whose activity labels no transition are skipped, as pm4py does by default.

The search order (places sorted by name, paths by length, transitions by name) follows
pm4py's, so the same net gives the same counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["PetriNet", "ReplayResult", "TraceReplay", "Transition", "replay_log"]

_MAX_REC_DEPTH: Final = 50
_MAX_REC_DEPTH_HIDDEN: Final = 2
_MAX_IT_FINAL1: Final = 5
_MAX_IT_FINAL2: Final = 5

Marking = dict[str, int]


@dataclass(eq=False)
class Transition:
    name: str
    label: str | None  # None: silent (τ)
    inputs: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)


@dataclass
class PetriNet:
    """A place/transition net with an initial and a final marking (places by name)."""

    places: list[str] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    initial: Marking = field(default_factory=dict)
    final: Marking = field(default_factory=dict)

    def add_place(self, name: str) -> str:
        if name not in self._place_set():
            self.places.append(name)
        return name

    def _place_set(self) -> set[str]:
        return set(self.places)

    def add_transition(
        self, name: str, label: str | None, inputs: Iterable[str], outputs: Iterable[str]
    ) -> Transition:
        t = Transition(name, label)
        for p in inputs:
            t.inputs[p] = t.inputs.get(p, 0) + 1
        for p in outputs:
            t.outputs[p] = t.outputs.get(p, 0) + 1
        self.transitions.append(t)
        return t

    @property
    def labels(self) -> set[str]:
        return {t.label for t in self.transitions if t.label is not None}

    def as_dict(self) -> dict[str, Any]:
        return {
            "places": self.places,
            "transitions": [
                {"name": t.name, "label": t.label, "inputs": t.inputs, "outputs": t.outputs}
                for t in self.transitions
            ],
            "initial": self.initial,
            "final": self.final,
        }


# --------------------------------------------------------------------------- semantics


def _enabled(t: Transition, marking: Marking) -> bool:
    return all(marking.get(p, 0) >= w for p, w in t.inputs.items())


def _fire(t: Transition, marking: Marking) -> Marking:
    out = dict(marking)
    for p, w in t.inputs.items():
        out[p] = out.get(p, 0) - w
        if out[p] == 0:
            del out[p]
    for p, w in t.outputs.items():
        out[p] = out.get(p, 0) + w
    return out


def _shortest_silent_paths(net: PetriNet) -> dict[str, dict[str, list[Transition]]]:
    """For each place, the shortest silent-transition path to every place it reaches.

    pm4py's depth-first search with improvement, bounded at depth 50.
    """
    post: dict[str, list[Transition]] = {p: [] for p in net.places}
    for t in sorted(net.transitions, key=lambda x: x.name):
        for p in t.inputs:
            post.setdefault(p, []).append(t)
    paths: dict[str, dict[str, list[Transition]]] = {}

    def visit(origin: str, current: str, so_far: list[Transition], depth: int) -> None:
        if depth > _MAX_REC_DEPTH:
            return
        table = paths.setdefault(origin, {})
        for t in post.get(current, []):
            if t.label is not None:
                continue
            for target in t.outputs:
                if target not in table or len(so_far) + 1 < len(table[target]):
                    extended = [*so_far, t]
                    table[target] = extended
                    visit(origin, target, extended, depth + 1)

    for place in net.places:
        visit(place, place, [], 0)
    return paths


class _Replayer:
    def __init__(self, net: PetriNet) -> None:
        self.net = net
        self.paths = _shortest_silent_paths(net)
        self.by_label: dict[str | None, Transition] = {}
        for t in sorted(net.transitions, key=lambda x: x.name):
            self.by_label[t.label] = t
        self.ordered = sorted(net.transitions, key=lambda x: x.name)

    def _paths_between(self, marking: Marking, targets: Iterable[str]) -> list[list[Transition]]:
        found: list[list[Transition]] = []
        wanted = sorted(targets)
        for p1 in sorted(marking):
            row = self.paths.get(p1)
            if row is None:
                continue
            for p2 in wanted:
                if p2 in row:
                    found.append(row[p2])
        return sorted(found, key=len)

    def _enable_hidden(
        self,
        marking: Marking,
        fired: list[Transition],
        visited: set[Transition],
        groups: list[list[Transition]],
        t: Transition,
    ) -> Marking:
        j = [0] * len(groups)
        z = 0
        while True:
            changed = False
            g = z % len(groups)
            for _ in range(j[g], len(groups[g])):
                t3 = groups[g][j[g]]
                if t3 is not t and _enabled(t3, marking) and t3 not in visited:
                    marking = _fire(t3, marking)
                    fired.append(t3)
                    visited.add(t3)
                    changed = True
                j[g] += 1
                if _enabled(t, marking):
                    break
            if _enabled(t, marking) or not changed:
                return marking
            z += 1

    def _apply_hidden(
        self,
        t: Transition,
        marking: Marking,
        fired: list[Transition],
        depth: int,
        visited: set[Transition],
    ) -> Marking:
        if depth >= _MAX_REC_DEPTH_HIDDEN or t in visited:
            return marking
        visited.add(t)
        at_start = dict(marking)
        missing_places = [p for p, w in t.inputs.items() if marking.get(p, 0) < w]
        groups = self._paths_between(marking, missing_places)
        if groups:
            marking = self._enable_hidden(marking, fired, visited, groups, t)
            if not _enabled(t, marking):
                groups = self._paths_between(marking, missing_places)
                for group in groups:
                    for t4 in group:
                        if t4 is not t and t4 not in visited:
                            if not _enabled(t4, marking):
                                marking = self._apply_hidden(t4, marking, fired, depth + 1, visited)
                            if _enabled(t4, marking):
                                marking = _fire(t4, marking)
                                fired.append(t4)
                                visited.add(t4)
            if not _enabled(t, marking) and at_start != marking:
                marking = self._apply_hidden(t, marking, fired, depth + 1, visited)
        return marking

    def _reachable(self, activity: str, marking: Marking) -> Transition:
        """The transition labelled ``activity`` to enable through silent transitions.

        With one such transition, pm4py's choice. With several (a process called twice,
        inlined), the one the current marking reaches by the shortest silent path.
        """
        default = self.by_label[activity]
        same = [x for x in self.ordered if x.label == activity]
        if len(same) < 2:
            return default
        best: tuple[int, Transition] | None = None
        for x in same:
            missing = [p for p, w in x.inputs.items() if marking.get(p, 0) < w]
            paths = self._paths_between(marking, missing)
            if paths and (best is None or len(paths[0]) < best[0]):
                best = (len(paths[0]), x)
        return best[1] if best is not None else default

    def replay(self, trace: Sequence[str]) -> TraceReplay:
        net = self.net
        marking = dict(net.initial)
        missing = consumed = 0
        produced = sum(net.initial.values())
        problems: list[str] = []
        skipped: list[str] = []
        for activity in trace:
            if activity not in self.by_label:
                skipped.append(activity)
                continue
            candidates = [x for x in self.ordered if x.label == activity and _enabled(x, marking)]
            t = candidates[0] if candidates else self._reachable(activity, marking)
            if not _enabled(t, marking):
                fired: list[Transition] = []
                marking = self._apply_hidden(t, dict(marking), fired, 0, set())
                for h in fired:
                    consumed += sum(h.inputs.values())
                    produced += sum(h.outputs.values())
            if not _enabled(t, marking):
                problems.append(activity)
                for p, w in t.inputs.items():
                    have = marking.get(p, 0)
                    if have < w:
                        missing += w - have
                        marking[p] = have + w
            consumed += sum(t.inputs.values())
            produced += sum(t.outputs.values())
            if _enabled(t, marking):
                marking = _fire(t, marking)

        final = net.final
        for _ in range(_MAX_IT_FINAL1):
            if set(final) <= set(marking):
                break
            for group in self._paths_between(marking, final):
                for h in group:
                    if _enabled(h, marking):
                        marking = _fire(h, marking)
                        consumed += sum(h.inputs.values())
                        produced += sum(h.outputs.values())
                if set(final) <= set(marking):
                    break
        if not set(final) <= set(marking) and len(final) == 1:
            sink = next(iter(final))
            connections = [
                self.paths[p][sink] for p in marking if p in self.paths and sink in self.paths[p]
            ]
            connections.sort(key=len)
            for _ in range(_MAX_IT_FINAL2):
                for path in connections:
                    for h in path:
                        if not _enabled(h, marking):
                            break
                        marking = _fire(h, marking)
                        consumed += sum(h.inputs.values())
                        produced += sum(h.outputs.values())

        end_marking = dict(marking)
        short = {p: final[p] - marking.get(p, 0) for p in final if final[p] > marking.get(p, 0)}
        remaining = 0
        for p, n in marking.items():
            remaining += max(0, n - final[p]) if p in final else n
        # pm4py's replay-fitness evaluation counts remaining tokens against fitting.
        fit = missing == 0 and remaining == 0
        consumed += sum(final.values())
        missing += sum(short.values())
        if consumed > 0 and produced > 0:
            fitness = 0.5 * (1.0 - missing / consumed) + 0.5 * (1.0 - remaining / produced)
        else:
            fitness = 1.0
        return TraceReplay(
            tuple(trace),
            fit,
            fitness,
            missing,
            consumed,
            remaining,
            produced,
            tuple(problems),
            tuple(skipped),
            end_marking,
        )


@dataclass(frozen=True)
class TraceReplay:
    trace: tuple[str, ...]
    is_fit: bool
    fitness: float
    missing: int
    consumed: int
    remaining: int
    produced: int
    problems: tuple[str, ...]  # activities fired with missing tokens
    not_in_model: tuple[str, ...]
    end_marking: Marking


@dataclass(frozen=True)
class ReplayResult:
    """Token-replay fitness of a log, pm4py's ``fitness_token_based_replay`` figures."""

    log_fitness: float
    average_trace_fitness: float
    percentage_of_fitting_traces: float
    traces: int
    variants: list[tuple[TraceReplay, int]]

    def as_dict(self, top: int = 20) -> dict[str, Any]:
        return {
            "log_fitness": self.log_fitness,
            "average_trace_fitness": self.average_trace_fitness,
            "percentage_of_fitting_traces": self.percentage_of_fitting_traces,
            "traces": self.traces,
            "variants": [
                {
                    "activities": list(r.trace),
                    "cases": n,
                    "fitness": r.fitness,
                    "is_fit": r.is_fit,
                    "missing": r.missing,
                    "remaining": r.remaining,
                    "problems": list(r.problems),
                    "not_in_model": sorted(set(r.not_in_model)),
                }
                for r, n in self.variants[:top]
            ],
        }


def replay_log(net: PetriNet, traces: Iterable[Sequence[str]]) -> ReplayResult:
    """Replay every trace (each distinct one once) and aggregate as pm4py does."""
    counts: dict[tuple[str, ...], int] = {}
    for trace in traces:
        key = tuple(trace)
        counts[key] = counts.get(key, 0) + 1
    replayer = _Replayer(net)
    results = [(replayer.replay(trace), n) for trace, n in counts.items()]
    results.sort(key=lambda rn: (-rn[1], rn[0].trace))
    total = sum(counts.values())
    m = sum(r.missing * n for r, n in results)
    c = sum(r.consumed * n for r, n in results)
    rem = sum(r.remaining * n for r, n in results)
    p = sum(r.produced * n for r, n in results)
    fit = sum(n for r, n in results if r.is_fit)
    if total and c and p:
        log_fitness = 0.5 * (1 - m / c) + 0.5 * (1 - rem / p)
        average = sum(r.fitness * n for r, n in results) / total
        percentage = 100.0 * fit / total
    else:
        log_fitness = average = percentage = 0.0
    return ReplayResult(log_fitness, average, percentage, total, results)
