"""Memory per 1M keys, boot from a checkpoint, full log replay, on a daemon
of their own (a fresh data dir holding only these keys). Peers: Redis with
the same keys in memory (RSS), loading its RDB snapshot (boot), replaying
its append-only file (replay)."""
import os
import time

from . import loadgen, procs
from .client import parallel
from .ctx import VALUE_100
from .report import Row


def boot_rows(ctx):
    n = ctx.p["mem_keys"]
    scale = 1_000_000 / n
    mem = Row("memory per 1M keys", "MiB", peer_name="redis-server (no persistence), same keys", higher_better=False)
    boot = Row("boot from checkpoint", "s", peer_name="redis-server loading its RDB", higher_better=False)
    replay = Row("full log replay", "events/s", peer_name="redis-server replaying its AOF")
    scaled = "" if n == 1_000_000 else f", measured with {n:,} keys and scaled"

    # KissVDB: load, RSS, then restarts.
    d = os.path.join(ctx.tmp, "kissvdb-boot")
    kiss = procs.KissVDB(ctx.args.binary, d, ctx.token, d + ".log")
    kiss.start()
    time.sleep(0.5)
    r0 = procs.status_bytes(kiss.proc.pid)
    ctx.say(f"boot: loading {n:,} keys into KissVDB")
    ops = (f'{{"key":"m:{i}","value":"{VALUE_100}"}}' for i in range(n))
    bodies = []
    batch = []
    for op in ops:
        batch.append(op)
        if len(batch) == 256:
            bodies.append((None, '{"operations":[' + ",".join(batch) + "]}"))
            batch = []
    if batch:
        bodies.append((None, '{"operations":[' + ",".join(batch) + "]}"))
    t0 = time.monotonic()
    parallel(kiss.port, ctx.token, bodies, "POST", "/v1/state/batch_put", workers=4)
    load_s = time.monotonic() - t0
    r1 = procs.status_bytes(kiss.proc.pid)
    mem.kiss = (r1["VmRSS"] - r0["VmRSS"]) * scale / 2**20
    anon = (r1.get("RssAnon", 0) - r0.get("RssAnon", 0)) * scale / 2**20
    from .client import Client
    c = Client(kiss.port, ctx.token)
    events = c.json("GET", "/v1/log?since=0&limit=1")["last_offset"]
    c.close()
    kiss.stop()  # checkpoints
    ctx.say(f"boot: {n:,} keys loaded in {load_s:.1f} s, {events:,} events in the log")
    mem.note = (f"RSS growth after writing {n:,} keys of 100-byte values{scaled}; KissVDB's includes "
                f"LMDB's file-backed pages (anonymous memory alone: {anon:.0f} MiB)")

    def kiss_boot():
        s = kiss.start()
        kiss.stop()
        return {"rate": s}

    def kiss_replay():
        for name in ("state.lmdb", "state.lmdb-lock", "snapshot.json"):
            if os.path.exists(os.path.join(d, name)):
                os.remove(os.path.join(d, name))
        s = kiss.start()
        kiss.stop()
        return {"rate": events / s, "seconds": s}

    # Redis: memory (no persistence), then RDB and AOF files for the boots.
    redis_boot = redis_replay = None
    if procs.have("redis-server"):
        rdir = os.path.join(ctx.tmp, "redis-boot")
        rm = procs.Redis(rdir, "memory")
        rm.start()
        time.sleep(0.2)
        q0 = rm.rss()
        procs.redis_set_many(rm.port, (f"m:{i}" for i in range(n)), VALUE_100)
        mem.peer = (rm.rss() - q0) * scale / 2**20
        procs.redis_command(rm.port, "SAVE")
        rm.stop()

        def redis_boot():
            s = rm.start()
            rm.stop()
            return {"rate": s}

        adir = os.path.join(ctx.tmp, "redis-aof")
        aof_args = ["--appendonly", "yes", "--appendfsync", "no", "--aof-use-rdb-preamble", "no",
                    "--auto-aof-rewrite-percentage", "0"]
        ra = procs.Redis(adir, "memory")
        ra.start(aof_args)
        procs.redis_set_many(ra.port, (f"m:{i}" for i in range(n)), VALUE_100)
        ra.stop()

        def redis_replay():
            s = ra.start(aof_args)
            ra.stop()
            return {"rate": n / s, "seconds": s}
    else:
        for r in (mem, boot, replay):
            r.skipped = "redis-server is not installed"

    a, b = loadgen.interleave(ctx.p["runs"], kiss_boot, redis_boot)
    boot.kiss, boot.peer = a["rate"], b["rate"] if b else None
    boot.record_pairs(a, b)
    boot.note = (f"SIGTERM (KissVDB checkpoints), restart, until the first answer (/v1/health, PING); "
                 f"{n:,} keys; KissVDB runs {a['samples']}" + (f", Redis runs {b['samples']}" if b else ""))
    a, b = loadgen.interleave(ctx.p["runs"], kiss_replay, redis_replay)
    replay.kiss, replay.peer = a["rate"], b["rate"] if b else None
    replay.record_pairs(a, b)
    replay.note = (f"KissVDB: state.lmdb and snapshot.json deleted, {events:,} events replayed from the log in "
                   f"{a['seconds']:.2f} s; Redis: {n:,} SETs from a pure AOF (no RDB preamble)"
                   + (f" in {b['seconds']:.2f} s" if b else ""))
    ctx.say(f"boot: checkpoint {boot.kiss:.3f} s vs {boot.peer}; replay {replay.kiss:.0f}/s vs {replay.peer}")
    return [mem, boot, replay]
