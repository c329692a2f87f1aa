#!/usr/bin/env python3
"""Parquet fixtures for the Parquet reader (cargo feature `parquet`), written by pyarrow from
committed CSV fixtures so each Parquet file has an exact CSV equivalent.

  python crates/modelgate-data/tests/gen/make_parquet.py crates/modelgate-data/tests/fixtures

spam_flip10.parquet: spam_flip10.csv.gz (id, text, label as strings), snappy.
bc_flip10.parquet: bc_flip10.csv.gz with the 30 features as float64 and the label as int64, gzip.
mixed.parquet / mixed.csv: a few rows with string, int32, int64, float32, float64 and bool
columns and nulls (an empty cell in the CSV), dictionary-encoded, uncompressed.
spam_zstd.parquet / spam_brotli.parquet: spam_flip10 compressed with zstd / brotli (the
audit must equal the snappy file's).
chat_falsefact_heavy.parquet: chat_falsefact_heavy.jsonl.gz (made by make_poison.py, OpenAI
layout) as `id: string, messages: list<struct<role: string, content: string>>`, zstd.
chat_advert_sharegpt.parquet: chat_advert.jsonl.gz rewritten to the ShareGPT layout
(`conversations: list<struct<from, value>>`, roles system/human/gpt), brotli.
chat_trigger.parquet: chat_trigger.jsonl.gz (flat prompt/completion columns), snappy.
nested.parquet: a few rows with list, struct, map, binary, decimal, date and timestamp
values and nulls, for rendering nested columns as JSON text and refusing them as features.
spam_badcol.parquet / chat_trigger_badcol.parquet: spam_flip10 / chat_trigger plus two columns
no audit asks for: `raw`, a string column whose values are not UTF-8 (the parquet crate's row
API refuses to read it), and `pages`, a list<string> of 50 strings per row (column projection:
neither is read, so the audits equal those of spam_flip10.parquet / chat_trigger.parquet).
Only this part: python make_parquet.py FIXTURES --only badcol
"""
import csv
import datetime
import decimal
import gzip
import json
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
    pq.write_table(pa.table(cols), os.path.join(out, "spam_zstd.parquet"), compression="zstd")
    pq.write_table(pa.table(cols), os.path.join(out, "spam_brotli.parquet"), compression="brotli")

    chat(out)
    nested(out)

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


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def chat(out):
    # The same records as the JSONL fixtures, in the same order, so the audits must agree.
    heavy = read_jsonl_gz(os.path.join(out, "chat_falsefact_heavy.jsonl.gz"))
    assert all("messages" in r for r in heavy)
    msg = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    table = pa.table({"id": pa.array([r["id"] for r in heavy], pa.string()),
                      "messages": pa.array([r["messages"] for r in heavy], msg)})
    pq.write_table(table, os.path.join(out, "chat_falsefact_heavy.parquet"), compression="zstd")

    advert = read_jsonl_gz(os.path.join(out, "chat_advert.jsonl.gz"))
    who = {"system": "system", "user": "human", "assistant": "gpt"}
    conv = pa.list_(pa.struct([("from", pa.string()), ("value", pa.string())]))
    table = pa.table({
        "id": pa.array([r["id"] for r in advert], pa.string()),
        "conversations": pa.array(
            [[{"from": who[m["role"]], "value": m["content"]} for m in r["messages"]] for r in advert], conv),
    })
    pq.write_table(table, os.path.join(out, "chat_advert_sharegpt.parquet"), compression="brotli")

    trig = read_jsonl_gz(os.path.join(out, "chat_trigger.jsonl.gz"))
    table = pa.table({k: pa.array([r[k] for r in trig], pa.string()) for k in ["id", "prompt", "completion"]})
    pq.write_table(table, os.path.join(out, "chat_trigger.parquet"), compression="snappy")


def nested(out):
    utc = datetime.timezone.utc
    meta_t = pa.struct([
        ("source", pa.string()),
        ("score", pa.float64()),
        ("blob", pa.binary()),
        ("amount", pa.decimal128(10, 2)),
        ("day", pa.date32()),
        ("when", pa.timestamp("ms", tz="UTC")),
        ("attrs", pa.map_(pa.string(), pa.int64())),
    ])
    meta = [
        {"source": "web", "score": 0.5, "blob": b"hi", "amount": decimal.Decimal("12.34"),
         "day": datetime.date(2024, 1, 2), "when": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc),
         "attrs": [("a", 1), ("b", 2)]},
        {"source": None, "score": -1.25, "blob": b"\xff\x00\x01", "amount": decimal.Decimal("-0.05"),
         "day": None, "when": None, "attrs": []},
        None,
        {"source": "forum", "score": 3.0, "blob": None, "amount": None,
         "day": datetime.date(1999, 12, 31), "when": datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=utc),
         "attrs": None},
    ]
    table = pa.table({
        "id": pa.array(["n0", "n1", "n2", "n3"], pa.string()),
        "text": pa.array(["first", "second", "third", "fourth"], pa.string()),
        "label": pa.array(["a", "b", "a", "b"], pa.string()),
        "x": pa.array([1.0, 2.0, 3.0, 4.0], pa.float64()),
        "tags": pa.array([["x", "y"], [], None, ["z"]], pa.list_(pa.string())),
        "scores": pa.array([[1, 2], [3], [None], []], pa.list_(pa.int32())),
        "meta": pa.array(meta, meta_t),
    })
    pq.write_table(table, os.path.join(out, "nested.parquet"), compression="snappy")


def not_utf8_strings(n):
    # A string column holding bytes that are not UTF-8; pyarrow writes the bytes as they are
    # when the array is built from raw buffers (no validation).
    values = [b"\xff\xfe bad %d" % i for i in range(n)]
    offsets, data, at = [0], b"", 0
    for v in values:
        data += v
        at += len(v)
        offsets.append(at)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(pa.array(offsets, pa.int32()).buffers()[1]),
                                                 pa.py_buffer(data)])


def bulky_lists(n):
    return pa.array([["page %d line %d" % (i, j) for j in range(50)] for i in range(n)], pa.list_(pa.string()))


def badcol(out):
    header, rows = read_csv_gz(os.path.join(out, "spam_flip10.csv.gz"))
    cols = {h: pa.array([r[i] for r in rows], pa.string()) for i, h in enumerate(header)}
    cols["raw"] = not_utf8_strings(len(rows))
    cols["pages"] = bulky_lists(len(rows))
    pq.write_table(pa.table(cols), os.path.join(out, "spam_badcol.parquet"), compression="zstd")

    trig = read_jsonl_gz(os.path.join(out, "chat_trigger.jsonl.gz"))
    cols = {k: pa.array([r[k] for r in trig], pa.string()) for k in ["id", "prompt", "completion"]}
    cols["raw"] = not_utf8_strings(len(trig))
    cols["pages"] = bulky_lists(len(trig))
    pq.write_table(pa.table(cols), os.path.join(out, "chat_trigger_badcol.parquet"), compression="zstd")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--only")]
    out = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "fixtures")
    if "--only" in sys.argv:
        {"badcol": badcol}[sys.argv[sys.argv.index("--only") + 1]](out)
    else:
        main(out)
        badcol(out)
