#!/usr/bin/env python3
"""Make a large labelled CSV for the `modelgate data audit` throughput measurement by
resampling the rows of a generated set (by default spam_clean: SpamAssassin, deduplicated,
cut at 1 000 characters) with replacement, with a fixed seed.

  python bench/data_make_scale.py SETS_DIR ROWS OUT.csv [--perturb]

Plain resampling repeats each of the ~5 900 mails ~170 times at 1 M rows, which flatters
any step that works per distinct row. `--perturb` makes (almost) every row distinct: each
row drops ~10 % of its words at random and gets two random words from other mails.
"""
import csv
import gzip
import random
import sys


def main():
    sets, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    perturb = "--perturb" in sys.argv
    src = list(csv.reader(gzip.open(f"{sets}/spam_clean.csv.gz", "rt", encoding="utf-8")))
    head, body = src[0], src[1:]
    ti = head.index("text")
    r = random.Random(5)
    vocab = [w for x in body[:2000] for w in x[ti].split()[:50]]
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        for i in range(rows):
            x = list(body[r.randrange(len(body))])
            x[0] = f"s{i}"
            if perturb:
                words = [t for t in x[ti].split() if r.random() >= 0.1]
                for _ in range(2):
                    words.insert(r.randrange(len(words) + 1), vocab[r.randrange(len(vocab))])
                x[ti] = " ".join(words)
            w.writerow(x)


if __name__ == "__main__":
    main()
