"""Ticket classifier and topic hotspots, measured on real and generated messages.

    .venv/bin/python benchmarks/feedback.py [--messages CSV] [--folds 5] [--skip-topics]

Classifier, side by side with the plain baseline (character 1–3-gram TF-IDF + linear SVM,
scikit-learn defaults, on the same normalised text):

1. the real Fuzhou 12345 messages (``../shared/data/citizen-messages``, request type in the
   ``category`` column), stratified k-fold cross-validation: macro-F1 and accuracy of the
   pooled out-of-fold predictions, and our confidence's reliability table;
2. generated tickets, k-fold cross-validation (problem statements shared across folds);
3. generated tickets whose problem statements the models never saw (train on three in four
   statements per category, test on the rest; each quarter held out in turn);
4. a 12,000-character message classified, and throughput.

Topics: ``feedback topics`` on the same real messages; purity and coverage of the 10 hottest
clusters against the ``river`` column (purity: share of a cluster's messages about its most
common river, pooled over the clusters; coverage: share of all messages about those rivers
that the clusters hold).

The real messages have no licence: they are read from ``../shared`` and never copied.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from onewindow.feedback import classifier as clf
from onewindow.feedback import corpus, topics

DEFAULT_MESSAGES = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/citizen-messages/fuzhou-12345-rivers.csv"
)
ZONE = ZoneInfo("Asia/Shanghai")


def baseline_fit(texts: Sequence[str], labels: Sequence[str]) -> Callable[[list[str]], list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC())
    model.fit(list(texts), list(labels))
    return lambda xs: [str(c) for c in model.predict(xs)]


def scores(truth: Sequence[str], predicted: Sequence[str]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return (
        float(f1_score(truth, predicted, average="macro", zero_division=0)),
        float(accuracy_score(truth, predicted)),
    )


def cross_validate(
    texts: list[str], labels: list[str], folds: int, seed: int = 0
) -> dict[str, Any]:
    """Pooled out-of-fold predictions of our model and the baseline, and our confidences."""
    from sklearn.model_selection import StratifiedKFold

    items = [clf.item(t) for t in texts]  # titles: first sentences, where more follows
    ours: list[str] = [""] * len(texts)
    base: list[str] = [""] * len(texts)
    confidence = [0.0] * len(texts)
    per_fold: list[tuple[float, float]] = []
    started = time.perf_counter()
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(
        texts, labels
    ):
        model = clf.train_items([items[i] for i in train_idx], [labels[i] for i in train_idx])
        for i, (category, p) in zip(
            test_idx, model.predict_items([items[i] for i in test_idx]), strict=True
        ):
            ours[i], confidence[i] = category, p
        predict = baseline_fit([texts[i] for i in train_idx], [labels[i] for i in train_idx])
        for i, category in zip(test_idx, predict([texts[i] for i in test_idx]), strict=True):
            base[i] = category
        fold_truth = [labels[i] for i in test_idx]
        per_fold.append(
            (
                scores(fold_truth, [ours[i] for i in test_idx])[0],
                scores(fold_truth, [base[i] for i in test_idx])[0],
            )
        )
    return {
        "ours": scores(labels, ours),
        "baseline": scores(labels, base),
        "per_fold": per_fold,
        "confidence": confidence,
        "correct": [o == t for o, t in zip(ours, labels, strict=True)],
        "seconds": time.perf_counter() - started,
    }


OURS = "ours (char + title, balanced linear SVM)"
BASE = "baseline (char 1-3 TF-IDF + LinearSVC)"


def report_cv(name: str, result: dict[str, Any], n: int, folds: int) -> None:
    ours_f1, ours_acc = result["ours"]
    base_f1, base_acc = result["baseline"]
    wins = sum(1 for o, b in result["per_fold"] if o >= b)
    sd_ours = statistics.pstdev(o for o, _ in result["per_fold"])
    sd_base = statistics.pstdev(b for _, b in result["per_fold"])
    print(f"\n{name}: {n} messages, {folds}-fold CV ({result['seconds']:.0f} s)")
    print(f"  {'model':48s} {'macro-F1':>9s} {'accuracy':>9s}  fold sd")
    print(f"  {OURS:48s} {ours_f1:9.3f} {ours_acc:9.3f}  {sd_ours:.3f}")
    print(f"  {BASE:48s} {base_f1:9.3f} {base_acc:9.3f}  {sd_base:.3f}")
    print(f"  ours >= baseline in macro-F1 on {wins} of {folds} folds")


def report_reliability(result: dict[str, Any]) -> None:
    rows, ece = clf.reliability(result["confidence"], result["correct"])
    print("  reliability of our confidence (out-of-fold):")
    print(f"    {'confidence':12s} {'n':>5s} {'mean conf':>9s} {'accuracy':>9s}")
    for r in rows:
        if r.count:
            print(
                f"    {r.low:.1f}–{r.high:.1f}     {r.count:5d} {r.mean_confidence:9.3f} "
                f"{r.accuracy:9.3f}"
            )
    print(f"    expected calibration error {ece:.3f}")
    for threshold in (0.6, 0.8, 0.9):
        kept = [
            ok
            for c, ok in zip(result["confidence"], result["correct"], strict=True)
            if c >= threshold
        ]
        if kept:
            print(
                f"    confidence >= {threshold}: {len(kept) / len(result['correct']):.0%} of "
                f"messages, {sum(kept) / len(kept):.3f} right"
            )


def real_messages(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def classifier_section(rows: list[dict[str, str]], folds: int) -> None:
    if rows:
        texts = [clf.normalise(r["text"]) for r in rows]
        labels = [r["category"] for r in rows]
        print(f"categories: {dict(Counter(labels).most_common())}")
        result = cross_validate(texts, labels, folds)
        report_cv("real messages (Fuzhou 12345, request type)", result, len(rows), folds)
        report_reliability(result)

    generated = corpus.generate(3600, seed=11)
    g_texts = [clf.normalise(e.text) for e in generated]
    g_labels = [e.category for e in generated]
    report_cv("generated tickets", cross_validate(g_texts, g_labels, folds), len(g_texts), folds)

    truth: list[str] = []
    ours_pred: list[str] = []
    base_pred: list[str] = []
    for holdout in range(4):
        seen = corpus.generate(3600, seed=13 + holdout, split="train", holdout=holdout)
        unseen = corpus.generate(1200, seed=20 + holdout, split="test", holdout=holdout)
        s_texts, s_labels = [clf.normalise(e.text) for e in seen], [e.category for e in seen]
        u_texts = [clf.normalise(e.text) for e in unseen]
        truth += [e.category for e in unseen]
        ours_pred += [c for c, _ in clf.train(s_texts, s_labels, calibrate=False).predict(u_texts)]
        base_pred += baseline_fit(s_texts, s_labels)(u_texts)
    ours_f1, ours_acc = scores(truth, ours_pred)
    base_f1, base_acc = scores(truth, base_pred)
    print(
        "\ngenerated tickets, problem statements never seen (each quarter of the statements "
        "held out in turn: 4 x 3,600 train, 4 x 1,200 test):"
    )
    print(f"  {OURS:48s} macro-F1 {ours_f1:.3f} accuracy {ours_acc:.3f}")
    print(f"  {BASE:48s} macro-F1 {base_f1:.3f} accuracy {base_acc:.3f}")

    starter = clf.starter()
    long_text = "".join(e.text for e in corpus.generate(400, seed=16))[:12_000]
    started = time.perf_counter()
    category, confidence = starter.classify(long_text)
    print(
        f"\na {len(long_text):,}-character message: {category} ({confidence:.2f}) in "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )
    raw = [e.text for e in corpus.generate(5000, seed=15)]
    started = time.perf_counter()
    starter.predict([clf.normalise(t) for t in raw])
    rate = len(raw) / (time.perf_counter() - started)
    print(f"classified (normalise + predict): {rate:,.0f} tickets/s")
    print(f"starter confidence curve fitted on {starter.calibration.points} unseen-wording tickets")


def topics_section(rows: list[dict[str, str]], top: int = 10) -> None:
    messages = [
        topics.Message(
            r["id"],
            r["text"],
            datetime.combine(date.fromisoformat(r["created_at"]), clock(12), tzinfo=ZONE),
        )
        for r in rows
    ]
    river = {r["id"]: r["river"] for r in rows}
    started = time.perf_counter()
    found = topics.find_topics(messages)
    seconds = time.perf_counter() - started
    hottest = found[:top]
    majority = [Counter(river[m] for m in t.members).most_common(1)[0] for t in hottest]
    held = sum(n for _, n in majority)
    size = sum(t.size for t in hottest)
    rivers = {r for r, _ in majority}
    about = sum(1 for r in rows if r["river"] in rivers)
    in_top = sum(1 for t in hottest for m in t.members if river[m] in rivers)
    print(f"\ntopics: {len(rows)} real messages -> {len(found)} clusters in {seconds:.1f} s")
    print(f"  {'heat':>7s} {'size':>4s}  {'river (majority)':18s} label")
    for t, (name, n) in zip(hottest, majority, strict=True):
        print(f"  {t.heat:7.2f} {t.size:4d}  {name:10s} {n:3d}/{t.size:<3d} {t.label}")
    print(f"  top {top}: purity {held / size:.3f} against the river column")
    print(
        f"  coverage: the top {top} hold {in_top} of the {about} messages about their "
        f"{len(rivers)} rivers ({in_top / about:.3f})"
    )
    everything = sum(t.size for t in found)
    print(
        f"  all clusters hold {everything} of {len(rows)} messages ({everything / len(rows):.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=Path, default=DEFAULT_MESSAGES)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-topics", action="store_true")
    parser.add_argument("--skip-classifier", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)  # folds smaller than a class
    rows = real_messages(args.messages) if args.messages.exists() else []
    if not rows:
        print(f"{args.messages} not found: real-message figures skipped")
    if not args.skip_classifier:
        classifier_section(rows, args.folds)
    if rows and not args.skip_topics:
        topics_section(rows)


if __name__ == "__main__":
    main()
