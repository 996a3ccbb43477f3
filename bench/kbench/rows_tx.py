"""The transactions row (issue 22): POST /v1/tx with 1 KV check and 4 ops
(KV put, document put, vector upsert of one 128-dim item, user event),
durable, 64 connections, against Redis MULTI/EXEC with WATCH under
appendfsync always doing the KV, hash and stream parts of the same work
(bench/peers/redis_tx.cc). A second row says what the vector op costs:
the same transaction without it."""
import json
import os
import subprocess

from . import loadgen, procs
from .ctx import with_cpu
from .report import Row

CONNS = 64
DIM = 128


def _redis_tx(ctx, peer):
    def run():
        argv = [ctx.args.redis_tx, str(peer.port), f"{ctx.p['seconds']:g}", str(CONNS)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=ctx.p["seconds"] + 120)
        line = next((l for l in out.stdout.splitlines() if l.startswith("KBENCH ")), None)
        if out.returncode != 0 or line is None:
            raise loadgen.LoadError(f"kissvdb_bench_redis_tx failed ({out.returncode}): {out.stderr.strip()[:300]}")
        r = json.loads(line[len("KBENCH "):])
        if r["failed"]:
            raise loadgen.LoadError(f"{r['failed']} EXEC aborted by WATCH: a connection lost its key")
        r["rate"] = r["requests"] / r["seconds"]
        return r
    return lambda: with_cpu(peer.proc.pid, run)


def tx_rows(ctx):
    status, _ = ctx.client.request("POST", "/v1/vector/txvec", {"dim": DIM, "metric": "cosine"})
    if status not in (200, 409):
        raise RuntimeError(f"creating the tx row's vector collection answered {status}")
    run = [0]

    def kiss(dim):
        def go():
            run[0] += 1
            r = ctx.wrk_kiss("tx.lua", {"KB_KEYPREFIX": f"tx{run[0]}:", "KB_DIM": dim, "KB_COLLECTION": "txvec"},
                             connections=CONNS, threads=CONNS)
            if r["failed"]:
                raise loadgen.LoadError(f"{r['failed']} failed checks: a connection lost track of its revision")
            return r
        return go

    row = Row("transaction durable (1 check + 4 ops)", "tx/s",
              peer_name="redis-server appendfsync always, WATCH + MULTI/EXEC (SET, HSET, XADD)", min_ratio=0.5,
              note=f"{CONNS} connections, one key each: KissVDB checks the key's revision and puts it, a document, "
                   f"one {DIM}-dim vector and an event in one POST /v1/tx; Redis watches the key and runs SET, HSET "
                   f"(the document's fields) and XADD in MULTI/EXEC, sent in one write (no vector: Redis has none)")
    redis = ctx.peer("redis-always")
    if redis is None:
        row.skipped = ctx.missing["redis-always"]
    elif not os.path.exists(ctx.args.redis_tx or ""):
        row.skipped = f"{ctx.args.redis_tx or 'kissvdb_bench_redis_tx'} is not built"
    peer = _redis_tx(ctx, redis) if redis is not None and not row.skipped else None
    from .rows_kv import _measure
    _measure(ctx, row, kiss(DIM), peer)

    cost = Row("transaction: what the vector op costs", "tx/s",
               peer_name="the same transaction without the vector upsert",
               note="context only: KissVDB with the vector op / without it")
    _measure(ctx, cost, kiss(DIM), kiss(0))
    return [row, cost]
