"""CPU of psycopg dumping a group commit's arrays, text (%s) against binary (%b).

    .venv/bin/python bench/pg_arrays.py [--url postgresql://postgres@127.0.0.1:5432/test]

A group of the 70-room forum holds about 35 updates (synthese.documents,
DocumentStore._append_postgres sends them as three arrays).
"""
import argparse
import os
import time

import psycopg


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--items", type=int, default=35)
    parser.add_argument("--size", type=int, default=40, help="bytes per update")
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    conn = psycopg.connect(args.url, autocommit=True)
    params = {"d": [os.urandom(args.size) for _ in range(args.items)], "i": list(range(args.items))}
    for fmt in ("s", "b", "s", "b"):
        query = f"SELECT cardinality(%(d){fmt}::bytea[]), cardinality(%(i){fmt}::integer[])"
        cur = conn.cursor()
        start = time.process_time()
        for _ in range(args.repeat):
            cur.execute(query, params)
            cur.fetchall()
        print(f"%{fmt}: {(time.process_time() - start) / args.repeat * 1e6:6.1f} µs of CPU per statement")


if __name__ == "__main__":
    main()
