#!/usr/bin/env python3
"""Parquet fixtures for the Parquet reader (cargo feature `parquet`), written by pyarrow from
committed CSV fixtures so each Parquet file has an exact CSV equivalent.

  python crates/modelgate-data/tests/gen/make_parquet.py crates/modelgate-data/tests/fixtures

spam_flip10.parquet: spam_flip10.csv.gz (id, text, label as strings), snappy.
bc_flip10.parquet: bc_flip10.csv.gz with the 30 features as float64 and the label as int64, gzip.
mixed.parquet / mixed.csv: a few rows with string, int32, int64, float32, float64 and bool
columns and nulls (an empty cell in the CSV), dictionary-encoded, uncompressed.
spam_zstd.parquet: the first 20 rows of spam_flip10 compressed with zstd (a codec the reader
is not built with: an error case).
"""
import csv
import gzip
import io
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def read_csv_gz(path):
    with gzip.open(path, "rt", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def main(out):
    header, rows = read_csv_gz(os.path.join(out, "spam_flip10.csv.gz"))
    cols = {h: pa.array([r[i] for r in rows], pa.string()) for i, h in enumerate(header)}
    pq.write_table(pa.table(cols), os.path.join(out, "spam_flip10.parquet"), compression="snappy")
    small = pa.table({h: pa.array([r[i] for r in rows[:20]], pa.string()) for i, h in enumerate(header)})
    pq.write_table(small, os.path.join(out, "spam_zstd.parquet"), compression="zstd")

    header, rows = read_csv_gz(os.path.join(out, "bc_flip10.csv.gz"))
    cols = {}
    for i, h in enumerate(header):
        vals = [r[i] for r in rows]
        if h == "id":
            cols[h] = pa.array(vals, pa.string())
        elif h == "label":
            cols[h] = pa.array([int(v) for v in vals], pa.int64())
        else:
            cols[h] = pa.array([float(v) for v in vals], pa.float64())
    pq.write_table(pa.table(cols), os.path.join(out, "bc_flip10.parquet"), compression="gzip")

    mixed = {
        "id": ["m0", "m1", "m2", "m3", "m4", "m5"],
        "text": ["hello world", None, "buy now", "hello world", "ünïcode", "buy now"],
        "label": ["ham", "spam", "spam", "ham", "ham", "spam"],
        "n32": [1, -2, 3, None, 5, 6],
        "n64": [10**12, 0, -7, 8, 9, 10],
        "f32": [0.5, 1.25, -2.0, 3.0, None, 0.0],
        "f64": [0.1, 2.5e-8, 3.0, -4.75, 5.0, 1e20],
        "flag": [True, False, None, True, False, True],
    }
    types = {"id": pa.string(), "text": pa.string(), "label": pa.string(), "n32": pa.int32(),
             "n64": pa.int64(), "f32": pa.float32(), "f64": pa.float64(), "flag": pa.bool_()}
    table = pa.table({k: pa.array(v, types[k]) for k, v in mixed.items()})
    pq.write_table(table, os.path.join(out, "mixed.parquet"), compression="none", use_dictionary=True)
    with open(os.path.join(out, "mixed.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(mixed))
        for i in range(len(mixed["id"])):
            row = []
            for k, vals in mixed.items():
                v = vals[i]
                if v is None:
                    row.append("")
                elif isinstance(v, bool):
                    row.append("true" if v else "false")
                else:
                    row.append(str(v))
            w.writerow(row)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures"))
