"""Free Chinese text -> category, with a confidence: jieba words + character n-grams into a
TF-IDF logistic regression (scikit-learn).

Text is normalised first (NFKC, traditional -> simplified with OpenCC, emoji and control
characters dropped), so 這條馬路 and 这条马路 are the same words to the model. The starting
model is trained on generated tickets (``corpus``); a city retrains it on its own labelled
tickets. The confidence is the model's probability of the category it picked.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import opencc

from onewindow.feedback import corpus
from onewindow.kit.errors import ValidationFailed

MAX_CHARS = 4000
STARTER_EXAMPLES = 3600
STARTER_SEED = 20260302
_lock = threading.Lock()
_SPACES = re.compile(r"\s+")
_PUNCT_ONLY = re.compile(r"^[\W_]+$")


class TextInvalid(ValidationFailed):
    code = "feedback.text_invalid"


@functools.lru_cache(maxsize=1)
def _t2s() -> Any:
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

    Raises:
        TextInvalid: empty (or nothing but emoji and punctuation), or longer than MAX_CHARS.
    """
    if not isinstance(text, str):
        raise TextInvalid("Text must be a string", message_zh="内容必须是文本")
    if len(text) > MAX_CHARS:
        raise TextInvalid(
            f"Text is {len(text)} characters; at most {MAX_CHARS} are accepted",
            message_zh=f"内容共 {len(text)} 字，超过上限 {MAX_CHARS} 字，请精简后再提交",
            details={"length": len(text), "max": MAX_CHARS},
        )
    cleaned = "".join(ch for ch in unicodedata.normalize("NFKC", text) if _keep(ch))
    cleaned = _SPACES.sub(" ", _t2s().convert(cleaned)).strip()
    if not cleaned or _PUNCT_ONLY.match(cleaned):
        raise TextInvalid(
            "Say what the matter is: the text is empty",
            message_zh="请填写诉求内容（内容为空或只有表情符号）",
        )
    return cleaned


@functools.lru_cache(maxsize=1)
def _jieba() -> Any:
    # scikit-learn and jieba load when a model is first trained or used, not with the server.
    with warnings.catch_warnings():  # jieba 0.42 has invalid escape sequences in its regexes
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import jieba  # type: ignore[import-untyped,unused-ignore]

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    for district in corpus.DISTRICTS:
        tokenizer.add_word(district)
    tokenizer.initialize()
    return tokenizer


def words(text: str) -> list[str]:
    """jieba words without spaces and punctuation."""
    return [w for w in _jieba().lcut(text) if w.strip() and not _PUNCT_ONLY.match(w)]


@dataclass
class Classifier:
    pipeline: Any
    labels: list[str]
    examples: int

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(category, confidence) for each already-normalised text."""
        if not texts:
            return []
        probabilities = self.pipeline.predict_proba(list(texts))
        classes = list(self.pipeline.classes_)
        out: list[tuple[str, float]] = []
        for row in probabilities:
            best = int(row.argmax())
            out.append((str(classes[best]), round(float(row[best]), 4)))
        return out

    def classify(self, text: str) -> tuple[str, float]:
        return self.predict([normalise(text)])[0]


def train(texts: Sequence[str], labels: Sequence[str]) -> Classifier:
    """Fit on normalised texts.

    Raises:
        ValidationFailed: fewer than two categories or lengths that differ.
    """
    if len(texts) != len(labels) or len(set(labels)) < 2:
        raise ValidationFailed(
            "Training needs texts and labels of equal length with at least two categories",
            message_zh="训练数据至少需要两个类别，且文本与类别一一对应",
            code="feedback.training_invalid",
        )
    from sklearn.feature_extraction.text import (  # type: ignore[import-untyped,unused-ignore]
        TfidfVectorizer,
    )
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,unused-ignore]
    from sklearn.pipeline import FeatureUnion, Pipeline  # type: ignore[import-untyped,unused-ignore]

    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    tokenizer=words,
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    min_df=1,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, min_df=2),
            ),
        ]
    )
    pipeline = Pipeline(
        [("features", features), ("model", LogisticRegression(C=8.0, max_iter=300, tol=1e-3))]
    )
    with _lock:  # jieba's tokenizer is not thread-safe while it loads
        _jieba()
    pipeline.fit(list(texts), list(labels))
    return Classifier(pipeline, sorted(set(labels)), len(texts))


def starter_examples() -> tuple[list[str], list[str]]:
    examples = corpus.generate(STARTER_EXAMPLES, seed=STARTER_SEED)
    return [normalise(e.text) for e in examples], [e.category for e in examples]


@functools.lru_cache(maxsize=1)
def starter() -> Classifier:
    """The model every city starts from, trained once per process on generated tickets."""
    texts, labels = starter_examples()
    return train(texts, labels)


def evaluate(clf: Classifier, texts: Sequence[str], labels: Sequence[str]) -> tuple[float, float]:
    """(accuracy, macro-F1) on normalised texts with their true labels."""
    from sklearn.metrics import accuracy_score, f1_score  # type: ignore[import-untyped,unused-ignore]

    predicted = [c for c, _ in clf.predict(texts)]
    return (
        float(accuracy_score(labels, predicted)),
        float(f1_score(labels, predicted, average="macro", zero_division=0)),
    )
