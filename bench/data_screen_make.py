#!/usr/bin/env python3
"""Make the screening benchmark files from a generated `spam_clean.csv.gz`.

  python data_screen_make.py OUT [SCALE]

Writes OUT/screen_baseline.csv (a random half of the clean spam set, the trusted data),
OUT/screen_batch10k.csv (10 000 rows resampled from the other half, with a `source` column of
50 users) and, when SCALE > 0, OUT/scale.csv (SCALE rows resampled from the whole set).
Reads OUT/sets/spam_clean.csv.gz (from crates/modelgate-data/tests/gen/make_poison.py).
Deterministic (seed 5); used by data_audit.sh and data_screen.sh.
"""
import csv
import gzip
import random
import sys

out = sys.argv[1]
scale = int(sys.argv[2]) if len(sys.argv) > 2 else 0
rows = list(csv.reader(gzip.open(f"{out}/sets/spam_clean.csv.gz", "rt")))
head, body = rows[0], rows[1:]
r = random.Random(5)
r.shuffle(body)
half = len(body) // 2
with open(f"{out}/screen_baseline.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(head)
    w.writerows(body[:half])
with open(f"{out}/screen_batch10k.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(head + ["source"])
    for i in range(10000):
        x = body[half + r.randrange(len(body) - half)]
        w.writerow([f"b{i}"] + x[1:] + [f"user{r.randrange(50)}"])
if scale > 0:
    with open(f"{out}/scale.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        for i in range(scale):
            x = body[r.randrange(len(body))]
            w.writerow([f"s{i}"] + x[1:])
