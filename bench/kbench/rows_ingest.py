"""Cost as the work grows (issue 23): ingest N clustered 96-d vectors into a
fresh daemon for each N (--quick 20k, 60k; --full 100k, 300k, 1M; the
environment variable KB_INGEST_SIZES=a,b,... overrides) and report, per
size: vectors/s, peak RSS, RSS per vector after a restart, log bytes per
vector, boot time, recall@10 and queries/s at a fixed ef; then how far each
per-vector cost moved between the smallest and the largest size.

The data are made here, seeded: CLUSTERS Gaussian clusters whose spread
falls off along the dimensions (as embeddings have fewer effective
dimensions than coordinates), scaled by SCALE and rounded to integers, so
the JSON is short to format and the server stores exactly the floats the
exact ground truth (numpy brute force, cached) is computed from. Queries
come from the same distribution, from a seed of their own (held out). Size
N is the first N points of one sequence, so every size holds the smaller
ones. Needs python3-numpy (the text rows' python3-sklearn brings it)."""
import os
import time

from . import procs
from .client import Client
from .report import Row
from .rows_vector import BATCH, EFC, K, M, cache_dir, create_and_upsert, recall_at_k, write_search_bodies

DIM, CLUSTERS, SCALE, SEED = 96, 1000, 1000, 23
CHUNK = 10000           # points made per seeded generator call
QUERIES = 200
EF = 64
GENERATOR_VERSION = 1   # part of the cached ground truth's name: bump when the data change
SIZES = {"quick": [20000, 60000], "full": [100000, 300000, 1000000]}
NAME = "ingest"


class Clustered:
    """The seeded data set; points are made on demand and kept."""

    def __init__(self, np):
        self.np = np
        rng = np.random.default_rng(SEED)
        self.centers = rng.standard_normal((CLUSTERS, DIM))
        self.spread = 0.5 / np.sqrt(1 + np.arange(DIM) / 4)
        self.points = np.zeros((0, DIM), dtype=np.int32)
        self.bodies = []   # upsert_batch bodies of the first len(bodies) * BATCH points
        self.queries = self._draw(np.random.default_rng([SEED, 2]), QUERIES)

    def _draw(self, rng, n):
        label = rng.integers(0, CLUSTERS, n)
        x = self.centers[label] + rng.standard_normal((n, DIM)) * self.spread
        return self.np.rint(x * SCALE).astype(self.np.int32)

    def base(self, n):
        while len(self.points) < n:
            c = len(self.points) // CHUNK
            self.points = self.np.vstack([self.points, self._draw(self.np.random.default_rng([SEED, 1, c]), CHUNK)])
        return self.points[:n]

    def upsert_bodies(self, n):
        """The upsert_batch bodies (BATCH items, ids "0".."n-1") of the first n points."""
        pts = self.base(n)
        for s in range(len(self.bodies) * BATCH, n, BATCH):
            rows = pts[s:s + BATCH].tolist()
            self.bodies.append('{"items":[' + ",".join('{"id":"%d","vector":%s}' % (s + i, as_json(r))
                                                       for i, r in enumerate(rows)) + "]}")
        return self.bodies[:n // BATCH]

    def ground_truth(self, n):
        """The K nearest of the first n points to each query (l2, exact), a
        flat list of ids; cached."""
        np = self.np
        path = os.path.join(cache_dir("clustered-d96"), f"gt-v{GENERATOR_VERSION}-n{n}-q{QUERIES}-k{K}.npy")
        if not os.path.exists(path):
            q = self.queries.astype(np.float64)
            best_d = np.full((QUERIES, 0), np.inf)
            best_i = np.zeros((QUERIES, 0), dtype=np.int64)
            pts = self.base(n)
            for s in range(0, n, 65536):
                x = pts[s:s + 65536].astype(np.float64)
                d = (x * x).sum(1)[None, :] - 2 * q @ x.T
                d = np.concatenate([best_d, d], 1)
                i = np.concatenate([best_i, np.broadcast_to(np.arange(s, s + len(x)), (QUERIES, len(x)))], 1)
                top = np.argpartition(d, K, 1)[:, :K]
                best_d, best_i = np.take_along_axis(d, top, 1), np.take_along_axis(i, top, 1)
            np.save(path + ".tmp.npy", best_i)
            os.replace(path + ".tmp.npy", path)
        return [int(x) for x in np.load(path).reshape(-1)]


def as_json(row):
    return "[" + ",".join(map(str, row)) + "]"


def _sizes(ctx):
    env = os.environ.get("KB_INGEST_SIZES", "")
    return [int(x) for x in env.split(",") if x] if env else SIZES[ctx.mode]


def _collection(client):
    stats = client.json("GET", "/v1/admin/stats")
    return stats["log"], next(c for c in stats["vector"]["list"] if c["collection"] == NAME)


def measure(ctx, data, n):
    """One size on a daemon of its own; returns its figures."""
    bodies = data.upsert_bodies(n)
    gt = data.ground_truth(n)
    d = os.path.join(ctx.tmp, f"kissvdb-ingest-{n}")
    kiss = procs.KissVDB(ctx.args.binary, d, ctx.token, d + ".log", ctx.kiss_args())
    kiss.start()
    try:
        time.sleep(0.5)
        f = {"n": n, "empty_rss": procs.rss_bytes(kiss.proc.pid)}
        client = Client(kiss.port, ctx.token)
        c0 = procs.cpu_seconds(kiss.proc.pid)
        secs = create_and_upsert(client, kiss.port, ctx.token, NAME, DIM, bodies)
        f["rate"] = n / secs
        f["cpu_us"] = (procs.cpu_seconds(kiss.proc.pid) - c0) * 1e6 / n
        mem = procs.status_bytes(kiss.proc.pid)
        f["peak_rss"], f["ingest_rss"] = mem["VmHWM"], mem["VmRSS"]
        log, coll = _collection(client)
        f["wal_bytes"], f["capacity"], f["hnsw_estimate"] = log["wal_bytes"], coll["capacity"], coll["memory_bytes_estimate"]
        client.close()
        ctx.say(f"ingest {n:,}: {f['rate']:.0f} vectors/s, {f['cpu_us']:.0f} µs server CPU per vector, "
                f"peak RSS {f['peak_rss'] / 2**20:.0f} MiB; stopping (checkpoint)")
        t0 = time.monotonic()
        kiss.stop()
        f["stop_s"] = time.monotonic() - t0
        f["boot_s"] = kiss.start()
        time.sleep(0.5)
        f["restart_rss"] = procs.rss_bytes(kiss.proc.pid)
        client = Client(kiss.port, ctx.token)
        _, coll = _collection(client)
        f["file_bytes"] = coll["file_bytes"]
        queries = [as_json(q) for q in data.queries.tolist()]
        f["recall"] = recall_at_k(client, NAME, queries, gt, EF)
        client.close()
        body_file = d + f"-search-ef{EF}.jsonl"
        write_search_bodies(body_file, queries, EF)
        r = ctx.wrk_kiss("bodies.lua", {"KB_PATH": f"/v1/vector/{NAME}/search", "KB_BODY_FILE": body_file}, kiss=kiss)
        f["qps"], f["p50_ms"], f["p99_ms"] = r["rate"], r["p50_us"] / 1000, r["p99_us"] / 1000
    finally:
        if kiss.proc.poll() is None:
            kiss.stop()
        ctx.cleanup_dir(d)
    ctx.say(f"ingest {n:,}: boot {f['boot_s']:.2f} s, RSS after restart {f['restart_rss'] / 2**20:.0f} MiB, "
            f"recall@{K} {f['recall']:.3f}, {f['qps']:.0f} queries/s")
    return f


def per_vector(f):
    """The per-vector costs of one size: the figures that should stay flat."""
    n = f["n"]
    return {"µs per vector (wall)": 1e6 / f["rate"], "server CPU µs per vector": f["cpu_us"],
            "RSS per vector after restart (B)": (f["restart_rss"] - f["empty_rss"]) / n,
            "peak RSS per vector (B)": (f["peak_rss"] - f["empty_rss"]) / n,
            "log bytes per vector": f["wal_bytes"] / n, "boot µs per vector": f["boot_s"] * 1e6 / n}


def table(figures):
    """The per-size figures as Markdown (printed for bench/NOTES.md)."""
    out = ["| vectors | vectors/s | server CPU µs/vector | peak RSS | RSS/vector after restart | log B/vector | "
           "vector files B/vector | stop (checkpoint) | boot | recall@10 | queries/s (p50) |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in figures:
        n = f["n"]
        out.append(f"| {n:,} | {f['rate']:,.0f} | {f['cpu_us']:,.0f} | {f['peak_rss'] / 2**20:,.0f} MiB | "
                   f"{(f['restart_rss'] - f['empty_rss']) / n:,.0f} B | {f['wal_bytes'] / n:,.0f} | "
                   f"{f['file_bytes'] / n:,.0f} | {f['stop_s']:.2f} s | {f['boot_s']:.2f} s | {f['recall']:.3f} | "
                   f"{f['qps']:,.0f} ({f['p50_ms']:.1f} ms) |")
    return "\n".join(out)


def ingest_rows(ctx):
    sizes = _sizes(ctx)
    names = [f"ingest {n:,} × {DIM}-d vectors" for n in sizes]
    try:
        import numpy as np
    except ImportError:
        why = "python3-numpy is not installed (the text rows' python3-sklearn brings it)"
        return [Row(name, "vectors/s", skipped=why) for name in names]
    data = Clustered(np)
    figures = []
    for n in sizes:
        figures.append(measure(ctx, data, n))
    rows = []
    for name, f in zip(names, figures):
        n = f["n"]
        rows.append(Row(name, "vectors/s", kiss=f["rate"], note=(
            f"fresh daemon; {CLUSTERS} seeded Gaussian clusters, l2, M={M}, ef_construction={EFC}, {BATCH}-item "
            f"upsert_batch over 2 connections; server CPU {f['cpu_us']:.0f} µs per vector; peak RSS "
            f"{f['peak_rss'] / 2**20:.0f} MiB; after SIGTERM (checkpoint, {f['stop_s']:.1f} s) and restart: boot "
            f"{f['boot_s']:.2f} s, RSS {(f['restart_rss'] - f['empty_rss']) / n:.0f} B per vector over the empty "
            f"daemon (hnswlib's estimate {f['hnsw_estimate'] / n:.0f} B at capacity {f['capacity']:,}); log "
            f"{f['wal_bytes'] / n:.0f} B per vector; vector files {f['file_bytes'] / n:.0f} B per vector; "
            f"{QUERIES} held-out queries, k={K}, ef={EF}: recall@{K} {f['recall']:.3f}, {f['qps']:.0f} queries/s "
            f"(64 connections, p50 {f['p50_ms']:.1f} ms)")))
    if len(figures) > 1:
        lo, hi = per_vector(figures[0]), per_vector(figures[-1])
        growth = {k: hi[k] / lo[k] if lo[k] else None for k in lo}
        span = f"{figures[-1]['n']:,} vs {figures[0]['n']:,}"
        rows.append(Row(f"ingest: µs per vector, {span}", "×", kiss=growth["µs per vector (wall)"],
                        higher_better=False, note="per-vector cost at the largest size over the smallest (1× = flat): "
                        + ", ".join(f"{k} {v:.2f}×" for k, v in growth.items() if v is not None)))
    ctx.say("ingest figures:\n" + table(figures))
    return rows
