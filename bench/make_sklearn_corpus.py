#!/usr/bin/env python3
"""Build bench/work/sklearn/: N pickles of real, fitted scikit-learn models (never loads them).

These are the pickles people actually download: a TF-IDF + logistic-regression text
classifier (its vocabulary is a dict of thousands of words, i.e. tens of thousands of
opcodes), random forests and gradient boosting (object arrays of trees), scalers + linear
models, k-means. Sizes range from a few kB to a few hundred kB. One in ten wraps the model in
a dict next to a harmless malicious object (os.system("echo ...")), as a trojanized upload
would. Written with pickle (protocols 2-5) and joblib.dump, all named .pkl so that every
scanner (several choose files by extension) analyses every file.

  bench/.venv/bin/python bench/make_sklearn_corpus.py bench/work 2000
"""
import os, pickle, random, sys

import joblib
import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

out = os.path.join(sys.argv[1], "sklearn")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
os.makedirs(out, exist_ok=True)
rng = random.Random(0)
words = [f"tok{i}" for i in range(20000)]


class Evil:
    def __reduce__(self):
        return (os.system, ("echo modelgate-bench",))


def text_model(i):
    vocab = words[: rng.randrange(300, 6000)]
    docs = [" ".join(rng.choice(vocab) for _ in range(40)) for _ in range(150)]
    y = [j % 2 for j in range(150)]
    return make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=200)).fit(docs, y)


def tabular(i):
    r = np.random.default_rng(i)
    x = r.normal(size=(200, rng.randrange(4, 30)))
    y = (x[:, 0] + r.normal(size=200) > 0).astype(int)
    kind = i % 4
    if kind == 0:
        return RandomForestClassifier(n_estimators=rng.randrange(3, 12), max_depth=6, random_state=i).fit(x, y)
    if kind == 1:
        return GradientBoostingClassifier(n_estimators=rng.randrange(5, 30), max_depth=3, random_state=i).fit(x, y)
    if kind == 2:
        return make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    return KMeans(n_clusters=rng.randrange(2, 9), n_init=1, random_state=i).fit(x)


for i in range(n):
    path = os.path.join(out, f"s{i:05d}.pkl")
    if os.path.exists(path):
        continue
    model = text_model(i) if i % 2 == 0 else tabular(i // 2)
    obj = {"model": model, "post_load": Evil()} if i % 10 == 0 else model
    if i % 5 == 4:
        joblib.dump(obj, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=2 + i % 4)
print("sklearn corpus:", out, len(os.listdir(out)), "files")
