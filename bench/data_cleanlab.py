#!/usr/bin/env python3
"""The anchor: cleanlab 2.x `find_label_issues` (defaults) on 5-fold out-of-fold probabilities
from scikit-learn, on the same files modelgate audits.

  text:     TF-IDF word 1-2-grams (sublinear tf, min_df=2) + LogisticRegression(C=1)  ("cleanlab-LR")
            or MultinomialNB(alpha=0.1)                                                ("cleanlab-NB")
  numeric:  StandardScaler + LogisticRegression(C=1)

  python bench/data_cleanlab.py DIR [--model lr|nb] [--json OUT] [--only SUBSTR | --file NAME]

Chat files have no labels; cleanlab has no detector for them (its Datalab near-duplicate /
outlier checks need the `datalab` extra and embeddings), so they are skipped here.
CPU and wall time cover reading the file (pandas), featurising, the 5-fold fit and CL: the whole
job after start-up, as modelgate's timing covers its whole process. Python + library imports are
measured once and reported separately (a CLI-style run pays them once per file).
"""
import gzip
import json
import os
import sys
import time

t_import = time.process_time()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from cleanlab.filter import find_label_issues  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.naive_bayes import MultinomialNB  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

IMPORT_CPU = time.process_time() - t_import


def score(flagged, truth):
    tp = len(flagged & truth)
    p = tp / len(flagged) if flagged else (1.0 if not truth else 0.0)
    r = tp / len(truth) if truth else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main():
    d = sys.argv[1]
    model = sys.argv[sys.argv.index("--model") + 1] if "--model" in sys.argv else "lr"
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    exact = sys.argv[sys.argv.index("--file") + 1] if "--file" in sys.argv else ""
    out = []
    for f in sorted(os.listdir(d)):
        if not f.endswith(".csv.gz") or f.startswith("stream_") or (only and only not in f):
            continue
        name = f.split(".")[0]
        if exact and name != exact:
            continue
        truth = set(open(os.path.join(d, name + ".truth.txt")).read().split())
        t0 = time.process_time()
        w0 = time.time()
        df = pd.read_csv(os.path.join(d, f), dtype={"id": str})
        labels_raw = df["label"].astype(str).values
        classes = sorted(set(labels_raw))
        y = np.array([classes.index(v) for v in labels_raw])
        if "text" in df.columns:
            X = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(df["text"].fillna(""))
            clf = LogisticRegression(C=1.0, max_iter=1000) if model == "lr" else MultinomialNB(alpha=0.1)
        else:
            X = df.drop(columns=["id", "label"]).values.astype(float)
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        p = cross_val_predict(clf, X, y, cv=cv, method="predict_proba")
        issues = find_label_issues(y, p)
        cpu = time.process_time() - t0
        wall = time.time() - w0
        flagged = set(df["id"].values[issues])
        pr, rc, f1 = score(flagged, truth)
        row = {"file": name, "rows": len(df), "poison": len(truth), "flagged": len(flagged), "precision": round(pr, 3),
               "recall": round(rc, 3), "f1": round(f1, 3), "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
               "import_cpu_s": round(IMPORT_CPU, 3)}
        out.append(row)
        print(f"cleanlab-{model} {name:28s} flagged {len(flagged):5d} P {pr:.3f} R {rc:.3f} F1 {f1:.3f} cpu {cpu:.2f}s")
    if "--json" in sys.argv:
        json.dump(out, open(sys.argv[sys.argv.index("--json") + 1], "w"), indent=1)


if __name__ == "__main__":
    main()
