"""Ticket classifier: accuracy and macro-F1 on held-back generated tickets, and throughput.

    .venv/bin/python benchmarks/feedback.py [--train 3600] [--test 1200]

Two held-back sets: (1) tickets generated like the training ones (same problem statements,
other places, openers and wording around them), which is what the issue asks for; (2) the
harder set of problem statements the model never saw (every fourth statement per category is
kept out of training), a fairer guess at new real-world phrasing.
"""

from __future__ import annotations

import argparse
import time

from onewindow.feedback import classifier as clf
from onewindow.feedback import corpus


def _prepare(examples: list[corpus.Example]) -> tuple[list[str], list[str]]:
    return [clf.normalise(e.text) for e in examples], [e.category for e in examples]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=3600)
    parser.add_argument("--test", type=int, default=1200)
    args = parser.parse_args()

    clf.words("预热分词词典")  # load jieba's dictionary outside the timings
    train_x, train_y = _prepare(corpus.generate(args.train, seed=11))
    started = time.perf_counter()
    model = clf.train(train_x, train_y)
    trained = time.perf_counter() - started
    test_x, test_y = _prepare(corpus.generate(args.test, seed=12))
    accuracy, macro = clf.evaluate(model, test_x, test_y)

    unseen_train_x, unseen_train_y = _prepare(corpus.generate(args.train, seed=13, split="train"))
    unseen_model = clf.train(unseen_train_x, unseen_train_y)
    unseen_x, unseen_y = _prepare(corpus.generate(args.test, seed=14, split="test"))
    u_accuracy, u_macro = clf.evaluate(unseen_model, unseen_x, unseen_y)

    raw = [e.text for e in corpus.generate(5000, seed=15)]
    started = time.perf_counter()
    model.predict([clf.normalise(t) for t in raw])
    per_second = len(raw) / (time.perf_counter() - started)

    print(f"categories: {len(corpus.CATEGORIES)}, train {args.train}, held back {args.test}")
    print(f"training time: {trained:.2f} s")
    print(f"held-back (same statements): accuracy {accuracy:.3f}, macro-F1 {macro:.3f}")
    print(f"held-back (unseen statements): accuracy {u_accuracy:.3f}, macro-F1 {u_macro:.3f}")
    print(f"classified (normalise + predict): {per_second:,.0f} tickets/s")


if __name__ == "__main__":
    main()
