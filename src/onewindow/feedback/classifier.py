"""Free Chinese text -> category, with a calibrated confidence (scikit-learn).

Text is normalised first (NFKC, traditional -> simplified with OpenCC, emoji and control
characters dropped), so 這條馬路 and 这条马路 are the same to the model. Any length is
classified and kept whole; a text longer than :data:`FEATURE_CHARS` feeds the features with
its head and its tail (where the request usually is).

**Model**, chosen by measurement (``benchmarks/feedback.py``; the README has the figures):
character 1–3-gram TF-IDF of the text beside character 1–3-gram TF-IDF (sublinear) of the
title, into a class-balanced linear SVM (C = 0.5). The title is the one given (a form's
subject line) or else the text's first sentence when more follows it, so a message written
as "title。body" has its title weighted as such; a one-sentence text has no title. On the
real Fuzhou 12345 messages this beats the plain character 1–3-gram TF-IDF + linear SVM in
macro-F1 (the balancing lifts the rare request types) and is level with it on generated
tickets whose wording it never saw. Also measured and not kept: jieba words and word pairs
with a logistic regression (best on the real messages, but clearly worse on unseen wording),
calibrated-probability decisions (they undo the balancing), and soft-voting ensembles of the
two (between the two on both).

**Confidence** is the chance that the category is right, not a raw score: a Platt curve on
the decision value and its lead over the runner-up, fitted on predictions made without the
truth (3-fold out-of-fold predictions when a city trains; for the starter model, tickets
whose problem statements it never saw). So among tickets with confidence 0.9 about nine in
ten are right, and "dispatch without a person when confident" is safe; the benchmark prints
the reliability table.

The starting model is trained on generated tickets (``corpus``); a city retrains it on its
own labelled tickets. scikit-learn and jieba are imported where they are used, so importing
this module (and ``onewindow --help``) stays fast.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from onewindow.feedback import corpus
from onewindow.kit.errors import ValidationFailed

# The longest answer a text field of a task form takes (feedback.service checks it there).
# Classification itself has no length limit.
MAX_CHARS: Final = 4000
# A text longer than this feeds the features with its first HEAD_CHARS and last TAIL_CHARS.
FEATURE_CHARS: Final = 3000
HEAD_CHARS: Final = 2500
TAIL_CHARS: Final = FEATURE_CHARS - HEAD_CHARS
TITLE_CHARS: Final = 60  # a first sentence longer than this is not a title
STARTER_EXAMPLES: Final = 3600
STARTER_SEED: Final = 20260302
CALIBRATION_FOLDS: Final = 3
MIN_CALIBRATION_EXAMPLES: Final = 30
C: Final = 0.5
_lock = threading.Lock()
_SPACES = re.compile(r"\s+")
_PUNCT_ONLY = re.compile(r"^[\W_]+$")
_SENTENCE_END = re.compile(r"[。！？!?\n]")


class TextInvalid(ValidationFailed):
    code = "feedback.text_invalid"


@functools.lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    # So: emoji and other pictographs; Cs/Co/Cn: surrogates, private use, unassigned;
    # Cc/Cf: control and format characters (zero-width joiners, variation selectors).
    if cat in ("So", "Cs", "Co", "Cn", "Cc", "Cf", "Sk"):
        return ch in "\n\t"
    return True


def normalise(text: str) -> str:
    """The text the classifier sees: NFKC, simplified Chinese, no emoji, single spaces.
    Any length is accepted and kept whole.

    Raises:
        TextInvalid: not a string, or empty (nothing but emoji and punctuation).
    """
    if not isinstance(text, str):
        raise TextInvalid("Text must be a string", message_zh="内容必须是文本")
    cleaned = "".join(ch for ch in unicodedata.normalize("NFKC", text) if _keep(ch))
    cleaned = _SPACES.sub(" ", _t2s().convert(cleaned)).strip()
    if not cleaned or _PUNCT_ONLY.match(cleaned):
        raise TextInvalid(
            "Say what the matter is: the text is empty",
            message_zh="请填写诉求内容（内容为空或只有表情符号）",
        )
    return cleaned


def check_length(text: str, limit: int = MAX_CHARS) -> None:
    """For short free-text fields (a rating's comment, a reply, a form answer): refuse text
    longer than ``limit``. Tickets and classification take any length.

    Raises:
        TextInvalid: longer than ``limit``.
    """
    if len(text) > limit:
        raise TextInvalid(
            f"Text is {len(text)} characters; at most {limit} are accepted",
            message_zh=f"内容共 {len(text)} 字，超过上限 {limit} 字，请精简后再提交",
            details={"length": len(text), "max": limit},
        )


def is_blank(text: str) -> bool:
    """Nothing the classifier could read: empty, or only emoji and punctuation."""
    try:
        normalise(text)
    except TextInvalid:
        return True
    return False


def feature_text(text: str) -> str:
    """What of a long text feeds the features: its head and its tail."""
    if len(text) <= FEATURE_CHARS:
        return text
    return f"{text[:HEAD_CHARS]} … {text[-TAIL_CHARS:]}"


def title_of(text: str, title: str | None = None) -> str:
    """The given title; else the text's first sentence when more follows it and it is at
    most TITLE_CHARS long (a message written as "title。body"); else no title."""
    if title and title.strip():
        return title.strip()
    parts = _SENTENCE_END.split(text, maxsplit=1)
    if len(parts) < 2 or not parts[1].strip() or len(parts[0]) > TITLE_CHARS:
        return ""
    return parts[0]


@functools.lru_cache(maxsize=1)
def tokenizer() -> Any:
    """jieba, knowing the demo city's districts and every GB/T 2260 division as one word
    (hotspot keywords and topic words; the classifier itself reads characters)."""
    with warnings.catch_warnings():  # jieba 0.42 has invalid escape sequences in its regexes
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import jieba  # type: ignore[import-untyped,unused-ignore]

    from onewindow.datahub.rules import gbt2260

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    for district in corpus.DISTRICTS:
        tok.add_word(district)
    for d in gbt2260.divisions().values():
        if d.current and d.name not in ("市辖区", "县") and len(d.name) >= 3:
            tok.add_word(d.name, freq=100, tag="ns")
    return tok


def words(text: str) -> list[str]:
    """jieba words without spaces and punctuation."""
    with _lock:  # jieba's tokenizer is not thread-safe while it loads
        tok = tokenizer()
    return [w for w in tok.lcut(text) if w.strip() and not _PUNCT_ONLY.match(w)]


@dataclass(frozen=True)
class Item:
    """One text as the features see it: its (head and tail) text and its title."""

    text: str
    title: str


def item(text: str, title: str | None = None) -> Item:
    """The features' view of a normalised text (and its title, when it has one)."""
    return Item(feature_text(text), title_of(text, title))


def _body(i: Item) -> str:
    return i.text


def _title(i: Item) -> str:
    return i.title


class _Features:
    """Character 1–3-grams of the text (TF-IDF) and of the title (TF-IDF, sublinear term
    frequency), side by side; no title block when no text has a title."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import (  # type: ignore[import-untyped,unused-ignore]
            TfidfVectorizer,
        )

        self.text = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), preprocessor=_body)
        self.title: Any = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), sublinear_tf=True, preprocessor=_title
        )

    def fit_transform(self, items: Sequence[Item]) -> Any:
        import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]

        blocks = [self.text.fit_transform(items)]
        if any(i.title for i in items):
            blocks.append(self.title.fit_transform(items))
        else:
            self.title = None
        return sp.hstack(blocks).tocsr()

    def transform(self, items: Sequence[Item]) -> Any:
        import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]

        blocks = [self.text.transform(items)]
        if self.title is not None:
            blocks.append(self.title.transform(items))
        return sp.hstack(blocks).tocsr()


def _fit(items: Sequence[Item], labels: Sequence[str]) -> tuple[_Features, Any]:
    from sklearn.svm import LinearSVC  # type: ignore[import-untyped,unused-ignore]

    features = _Features()
    model = LinearSVC(C=C, class_weight="balanced")
    model.fit(features.fit_transform(items), list(labels))
    return features, model


@dataclass(frozen=True)
class Scored:
    """The category the model picked, its decision value and its lead over the runner-up,
    and the softmax of the decision values (the confidence when nothing is calibrated)."""

    category: str
    top: float
    margin: float
    softmax: float


def _scored(features: _Features, model: Any, items: Sequence[Item]) -> list[Scored]:
    import numpy as np

    decisions = np.asarray(model.decision_function(features.transform(items)), dtype=float)
    classes = [str(c) for c in model.classes_]
    if decisions.ndim == 1:  # two categories: one column, positive means classes[1]
        decisions = np.column_stack([-decisions, decisions])
    out: list[Scored] = []
    for row in decisions:
        order = np.argsort(row)[::-1]
        best, second = float(row[order[0]]), float(row[order[1]])
        exp = np.exp(row - best)
        out.append(Scored(classes[int(order[0])], best, best - second, float(1 / exp.sum())))
    return out


@dataclass(frozen=True)
class Calibration:
    """Platt curve from the decision value and the lead over the runner-up to the chance
    the category is right: ``1 / (1 + exp(-(a * top + b * margin + c)))``. Not fitted:
    the softmax of the decision values stands in (uncalibrated)."""

    a: float = 0.0
    b: float = 0.0
    c: float = 0.0
    fitted: bool = False
    points: int = 0  # predictions it was fitted on

    def __call__(self, s: Scored) -> float:
        if not self.fitted:
            return s.softmax
        z = self.a * s.top + self.b * s.margin + self.c
        return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))


def fit_calibration(scored: Sequence[Scored], right: Sequence[bool]) -> Calibration:
    """Platt scaling on predictions made without the truth (out of fold, or on phrasing
    never seen); unfitted when they are too few or all right (or all wrong)."""
    from sklearn.linear_model import (  # type: ignore[import-untyped,unused-ignore]
        LogisticRegression,
    )

    if len(scored) < MIN_CALIBRATION_EXAMPLES or len(set(right)) < 2:
        return Calibration()
    curve = LogisticRegression(C=1e4)
    curve.fit([[s.top, s.margin] for s in scored], [int(r) for r in right])
    a, b = (float(v) for v in curve.coef_[0])
    if a + b <= 0:  # a higher score must not mean less confidence
        return Calibration()
    return Calibration(a, b, float(curve.intercept_[0]), fitted=True, points=len(scored))


def _calibrate(items: Sequence[Item], labels: Sequence[str]) -> Calibration:
    """Fit the Platt curve on out-of-fold predictions (3-fold cross-validation)."""
    from collections import Counter

    from sklearn.model_selection import (  # type: ignore[import-untyped,unused-ignore]
        KFold,
        StratifiedKFold,
    )

    if len(items) < MIN_CALIBRATION_EXAMPLES:
        return Calibration()
    smallest = min(Counter(labels).values())
    splitter = (
        StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=0)
        if smallest >= CALIBRATION_FOLDS
        else KFold(CALIBRATION_FOLDS, shuffle=True, random_state=0)
    )
    scored: list[Scored] = []
    right: list[bool] = []
    for train_idx, test_idx in splitter.split(list(items), list(labels)):
        fold_labels = [labels[i] for i in train_idx]
        if len(set(fold_labels)) < 2:
            continue
        features, model = _fit([items[i] for i in train_idx], fold_labels)
        for i, s in zip(
            test_idx, _scored(features, model, [items[i] for i in test_idx]), strict=True
        ):
            scored.append(s)
            right.append(s.category == labels[i])
    return fit_calibration(scored, right)


@dataclass
class Classifier:
    features: Any
    model: Any
    labels: list[str]
    examples: int
    calibration: Calibration = field(default_factory=Calibration)

    def predict(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None
    ) -> list[tuple[str, float]]:
        """(category, confidence) for each already-normalised text (any length); ``titles``
        are the texts' subject lines where they have one."""
        if not texts:
            return []
        heads = list(titles) if titles is not None else [None] * len(texts)
        return self.predict_items([item(t, h) for t, h in zip(texts, heads, strict=True)])

    def predict_items(self, items: Sequence[Item]) -> list[tuple[str, float]]:
        return [(s.category, round(self.calibration(s), 4)) for s in self.score_items(items)]

    def score_items(self, items: Sequence[Item]) -> list[Scored]:
        return _scored(self.features, self.model, items) if items else []

    def classify(self, text: str, title: str | None = None) -> tuple[str, float]:
        return self.predict([normalise(text)], [normalise(title) if title else None])[0]


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    titles: Sequence[str | None] | None = None,
    *,
    calibrate: bool = True,
) -> Classifier:
    """Fit on normalised texts (any length), with their titles where they have one.

    Raises:
        ValidationFailed: fewer than two categories or lengths that differ.
    """
    if (
        len(texts) != len(labels)
        or len(set(labels)) < 2
        or (titles is not None and len(titles) != len(texts))
    ):
        raise ValidationFailed(
            "Training needs texts and labels of equal length with at least two categories",
            message_zh="训练数据至少需要两个类别，且文本与类别一一对应",
            code="feedback.training_invalid",
        )
    heads = list(titles) if titles is not None else [None] * len(texts)
    items = [item(t, h) for t, h in zip(texts, heads, strict=True)]
    return train_items(items, labels, calibrate=calibrate)


def train_items(
    items: Sequence[Item], labels: Sequence[str], *, calibrate: bool = True
) -> Classifier:
    """:func:`train` on items already made."""
    features, model = _fit(items, labels)
    calibration = _calibrate(items, labels) if calibrate else Calibration()
    return Classifier(features, model, sorted(set(labels)), len(items), calibration)


def starter_examples() -> tuple[list[str], list[str]]:
    examples = corpus.generate(STARTER_EXAMPLES, seed=STARTER_SEED)
    return [normalise(e.text) for e in examples], [e.category for e in examples]


def starter_calibration() -> Calibration:
    """The starter's confidence curve, fitted where it will be used: on problem statements
    it never saw. Four times, a quarter of the generator's statements is held out; a model
    trained on the rest scores tickets that use only the held-out ones."""
    scored: list[Scored] = []
    right: list[bool] = []
    for holdout in range(4):
        seen = corpus.generate(STARTER_EXAMPLES * 3 // 4, seed=STARTER_SEED + holdout,
                               split="train", holdout=holdout)  # fmt: skip
        unseen = corpus.generate(STARTER_EXAMPLES // 6, seed=STARTER_SEED - holdout - 1,
                                 split="test", holdout=holdout)  # fmt: skip
        features, model = _fit([item(normalise(e.text)) for e in seen], [e.category for e in seen])
        for e, s in zip(
            unseen, _scored(features, model, [item(normalise(e.text)) for e in unseen]), strict=True
        ):
            scored.append(s)
            right.append(s.category == e.category)
    return fit_calibration(scored, right)


@functools.lru_cache(maxsize=1)
def starter() -> Classifier:
    """The model every city starts from, trained once per process on generated tickets.

    Generated tickets are told apart without error in cross-validation, so its confidence
    is calibrated on phrasing it never saw instead (:func:`starter_calibration`)."""
    texts, labels = starter_examples()
    model = train(texts, labels, calibrate=False)
    model.calibration = starter_calibration()
    return model


def evaluate(clf: Classifier, texts: Sequence[str], labels: Sequence[str]) -> tuple[float, float]:
    """(accuracy, macro-F1) on normalised texts with their true labels."""
    from sklearn.metrics import (  # type: ignore[import-untyped,unused-ignore]
        accuracy_score,
        f1_score,
    )

    predicted = [c for c, _ in clf.predict(texts)]
    return (
        float(accuracy_score(labels, predicted)),
        float(f1_score(labels, predicted, average="macro", zero_division=0)),
    )


@dataclass(frozen=True)
class ReliabilityRow:
    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def reliability(
    confidences: Sequence[float], correct: Sequence[bool], *, bins: int = 10
) -> tuple[list[ReliabilityRow], float]:
    """The reliability table (equal-width confidence bins: how many, how confident, how
    often right) and the expected calibration error (the bins' |accuracy − confidence|
    weighted by their share)."""
    rows: list[ReliabilityRow] = []
    total = len(confidences)
    ece = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [
            (c, r)
            for c, r in zip(confidences, correct, strict=True)
            if low <= c < high or (b == bins - 1 and c == high)
        ]
        if not inside:
            rows.append(ReliabilityRow(low, high, 0, None, None))
            continue
        mean_c = sum(c for c, _ in inside) / len(inside)
        acc = sum(r for _, r in inside) / len(inside)
        ece += len(inside) / total * abs(acc - mean_c)
        rows.append(ReliabilityRow(low, high, len(inside), mean_c, acc))
    return rows, ece
