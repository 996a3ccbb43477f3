"""Memory per 1M keys, boot from a checkpoint, full log replay, on a daemon
of their own (a fresh data dir holding only these keys). Peers: Redis with
the same keys in memory (RSS), loading its RDB snapshot (boot), replaying
its append-only file (replay)."""
import os
import socket
import time

from . import loadgen, procs
from .client import parallel
from .ctx import VALUE_100
from .report import Row


def _rss_detail(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "RssAnon", "RssFile"):
                out[k] = int(line.split()[1]) * 1024
    return out


def _redis_fill(port, n, prefix):
    value = VALUE_100.encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        for start in range(0, n, 10000):
            count = min(10000, n - start)
            keys = (f"{prefix}{i}".encode() for i in range(start, start + count))
            s.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(value), value)
                               for k in keys))
            want, got = 5 * count, 0
            while got < want:
                chunk = s.recv(min(1 << 16, want - got))
                if not chunk:
                    raise RuntimeError("redis closed the connection")
                got += len(chunk)


def _redis_cmd(port, *args):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in
                                                     (x.encode() for x in args)))
        return s.recv(4096)


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
    r0 = _rss_detail(kiss.proc.pid)
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
    r1 = _rss_detail(kiss.proc.pid)
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
        _redis_fill(rm.port, n, "m:")
        mem.peer = (rm.rss() - q0) * scale / 2**20
        _redis_cmd(rm.port, "SAVE")
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
        _redis_fill(ra.port, n, "m:")
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
    boot.note = (f"SIGTERM (KissVDB checkpoints), restart, until the first answer (/v1/health, PING); "
                 f"{n:,} keys; KissVDB runs {a['samples']}" + (f", Redis runs {b['samples']}" if b else ""))
    a, b = loadgen.interleave(ctx.p["runs"], kiss_replay, redis_replay)
    replay.kiss, replay.peer = a["rate"], b["rate"] if b else None
    replay.note = (f"KissVDB: state.lmdb and snapshot.json deleted, {events:,} events replayed from the log in "
                   f"{a['seconds']:.2f} s; Redis: {n:,} SETs from a pure AOF (no RDB preamble)"
                   + (f" in {b['seconds']:.2f} s" if b else ""))
    ctx.say(f"boot: checkpoint {boot.kiss:.3f} s vs {boot.peer}; replay {replay.kiss:.0f}/s vs {replay.peer}")
    return [mem, boot, replay]
