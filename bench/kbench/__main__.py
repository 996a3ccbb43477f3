"""bench/run.sh's engine: runs every row and prints / writes the table.

  python3 -m kbench (--quick | --full) --binary BIN --hnsw-baseline BIN
                    --sqlite-baseline BIN [--fts5-baseline BIN] [--sse-fanout BIN]
                    [--out FILE]
                    [--rows a,b,...] [--seconds S] [--runs N]
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

from . import (report, rows_boot, rows_history, rows_ingest, rows_kv, rows_sql, rows_sse, rows_text, rows_tx,
               rows_vector)
from .ctx import Ctx

ROWS = {  # name -> (function, needs the shared daemon)
    "vector": (rows_vector.vector_rows, True),
    "get": (rows_kv.kv_get, True),
    "put": (rows_kv.kv_put, True),
    "cas": (rows_kv.kv_cas, True),
    "doc": (rows_kv.doc_put_get, True),
    "docfind": (rows_kv.doc_find, True),
    "events": (rows_kv.event_append, True),
    "tx": (rows_tx.tx_rows, True),
    "sql": (rows_sql.sql_rows, True),
    "text": (rows_text.text_rows, True),
    "sse": (rows_sse.sse_rows, False),
    "boot": (rows_boot.boot_rows, False),
    "ingest": (rows_ingest.ingest_rows, False),
    "history": (rows_history.history_rows, False),
}


def main():
    ap = argparse.ArgumentParser(prog="bench/run.sh")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    ap.add_argument("--binary", required=True)
    ap.add_argument("--hnsw-baseline", required=True)
    ap.add_argument("--sqlite-baseline", required=True)
    ap.add_argument("--sse-fanout", default="")
    ap.add_argument("--fts5-baseline", default="")
    ap.add_argument("--redis-tx", default="")
    ap.add_argument("--redis-fanout", default="")
    ap.add_argument("--out", default="")
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))

    args.work_dir = tempfile.mkdtemp(prefix="kissvdb-bench-")
    ctx = Ctx(args)
    rows, failures = [], []
    try:
        wanted = [r for r in args.rows.split(",") if r]
        unknown = [r for r in wanted if r not in ROWS]
        if unknown:
            ap.error(f"unknown rows {unknown}; known: {', '.join(ROWS)}")
        ctx.say(f"{ctx.mode} run: {ctx.p['seconds']} s per run, {ctx.p['runs']} run(s) per side, work dir "
                f"{args.work_dir}")
        ctx.start_kiss()
        for name in wanted:
            fn, _ = ROWS[name]
            try:
                rows += fn(ctx)
            except Exception as e:  # noqa: BLE001 - one broken row must not hide the others
                traceback.print_exc()
                failures.append(f"{name}: {e}")
                rows.append(report.Row(f"{name} (failed)", "", skipped=str(e)))
        ctx.stop_all()
    finally:
        ctx.stop_all()
        if not args.keep:
            shutil.rmtree(args.work_dir, ignore_errors=True)

    info = report.machine_info(args.binary)
    table = report.render_table(rows)
    print("\n" + table + "\n")
    for r in rows:
        if r.skipped:
            print(f"SKIPPED {r.name}: {r.skipped}")
    met = [r for r in rows if r.met is not None]
    print(f"targets met: {sum(r.met for r in met)}/{len(met)}; "
          f"not measured: {sum(1 for r in rows if r.target and r.met is None)}")
    if args.out:
        write_markdown(args.out, ctx, rows, table, info, time.monotonic() - ctx.started)
        print(f"wrote {args.out}")
    # KissVDB's side must run; a peer that could not run only marks its rows.
    if failures:
        print("FAILED rows: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


def write_markdown(path, ctx, rows, table, info, elapsed):
    p = ctx.p
    text = f"""# Benchmarks

KissVDB against peers doing the same work **on the same machine in the same
run**, every pair interleaved (A B A B …), median of {p['runs']} run(s) of
{p['seconds']:g} s each. Absolute figures drift on a shared 2-core machine;
the ratio KissVDB/peer is the number to read ("better": ↑ higher is better,
↓ lower is better). The table's ratio is median over median; the notes
below also give the ratio of each interleaved pair, whose spread shows how
far the machine moved during the row.

Reproduce (installs the peers with apt, builds, runs; ~{elapsed / 60:.0f} min):

```sh
bench/run.sh --full          # writes this file
bench/run.sh --quick         # seconds per row, prints the table (also a ctest, label "bench")
```

## Results ({ctx.mode} run)

{table}

## Machine

{report.render_machine(info)}

## How each row is measured

{report.render_notes(rows)}

Common to all HTTP rows: wrk with keep-alive, 64 connections, 2 threads,
{p['seconds']:g} s per run, a Lua script per request shape (`bench/lua/`);
every response is checked (a socket error or a status ≥ 400 fails the run).
KissVDB runs with its defaults (`durability always`, 2 I/O threads = the
cores) plus `--max-vector-batch 1000 --max-body-bytes 64MiB --max-json-bytes 1MiB --max-text-bytes 1MiB`, auth on
(Bearer key; the peers get the same header and ignore it). Redis rows use
redis-benchmark, 64 clients, no pipelining, with its run length sized to
{p['seconds']:g} s from the previous run. Every server binds 127.0.0.1, runs
from a temporary directory on the same disk, and is stopped at the end.
The in-process baselines (`bench/peers/`) are built with the same compiler
and flags as the daemon and use the machine's {os.cpu_count()} cores.
"""
    notes_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "NOTES.md")
    if os.path.exists(notes_path):
        text += "\n" + open(notes_path).read()
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
