"""Vector rows on Fashion-MNIST (Debian's dataset-fashion-mnist, read in
place; decompressed copies and the exact ground truth are cached outside the
repository): upsert throughput (1,000-item batches), search QPS at
recall@10 >= 0.95, memory per 100k vectors. The peer is hnswlib in-process
(bench/peers/hnsw_baseline.cc): same headers, graph parameters, seed and
insertion order as KissVDB, compiled with -march=native (hnswlib's AVX-512/AVX
kernels, as its Python build gets them; KissVDB picks wide kernels for search
at run time)."""
import gzip
import json
import os
import struct
import subprocess
import time

from . import loadgen
from .client import Client, upsert_batches
from .report import Row

DATASET = "/usr/share/datasets/fashion-mnist"
DIM, K, M, EFC = 784, 10, 16, 100
EF_LADDER = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256]
BATCH = 1000
# Queries per POST in the batched search row (search_batch): the HTTP and
# JSON cost of a request spread over several searches, as a RAG client that
# embeds a few questions at once would send them.
SEARCH_BATCH = 16
TARGET_RECALL = 0.95


def cache_dir(name="fashion-mnist"):
    """~/.cache/kissvdb/bench/<name>: data made or unpacked for the bench."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "kissvdb", "bench", name)
    os.makedirs(d, exist_ok=True)
    return d


def _unpacked(name, out):
    """The IDX image payload (rows of 784 uint8) of DATASET/name, cached."""
    path = os.path.join(cache_dir(), out)
    if not os.path.exists(path):
        with gzip.open(os.path.join(DATASET, name), "rb") as f:
            magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
            if magic != 2051 or rows * cols != DIM:
                raise RuntimeError(f"{name}: not an IDX image file of 28x28")
            data = f.read()
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
    return path


# Every pixel/255 as the float32 C++ computes, printed with 9 significant
# digits (exact round trip), so the server stores the very same floats.
_PIXEL = [("%.9g" % struct.unpack("f", struct.pack("f", p / 255.0))[0]) for p in range(256)]


def vector_json(row):
    return "[" + ",".join([_PIXEL[b] for b in row]) + "]"


def _rows(path, start, count):
    with open(path, "rb") as f:
        f.seek(start * DIM)
        data = f.read(count * DIM)
    return [data[i * DIM:(i + 1) * DIM] for i in range(count)]


def _batches(path, count):
    out = []
    rows = _rows(path, 0, count)
    for s in range(0, count, BATCH):
        items = ",".join('{"id":"%d","vector":%s}' % (i, vector_json(rows[i])) for i in range(s, min(count, s + BATCH)))
        out.append('{"items":[' + items + "]}")
    return out


def _hnsw(ctx, *argv, timeout=3600):
    out = subprocess.run([ctx.args.hnsw_baseline] + [str(a) for a in argv], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"kissvdb_bench_hnsw {argv[0]}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def create_and_upsert(client, port, token, name, dim, bodies, workers=2):
    """Creates `name` (l2, M, EFC) through `client`, upserts the batches
    over `workers` connections to `port`; returns the seconds from the first
    batch sent to the last answered."""
    client.request("POST", f"/v1/vector/{name}", {"dim": dim, "metric": "l2", "m": M, "ef_construction": EFC,
                                                  "ef_search": EF_LADDER[0]})
    t0 = time.monotonic()
    upsert_batches(port, token, name, bodies, workers)
    return time.monotonic() - t0


def _kiss_upsert(ctx, name, bodies, workers=2):
    return create_and_upsert(ctx.client, ctx.kiss.port, ctx.token, name, DIM, bodies, workers)


def search_body(vector, ef):
    """One search request for a vector given as JSON text."""
    return '{"vector":%s,"k":%d,"ef":%d}' % (vector, K, ef)


def recall_at_k(client, name, vectors, gt, ef):
    """recall@K of the searches of `vectors` (JSON texts) at `ef`, sent
    BATCH per search_batch; gt holds the K true ids of each, in a row."""
    found = 0
    for s in range(0, len(vectors), BATCH):
        qs = ",".join(search_body(v, ef) for v in vectors[s:s + BATCH])
        r = json.loads(client.request("POST", f"/v1/vector/{name}/search_batch", '{"queries":[' + qs + "]}")[1])
        for qi, res in enumerate(r["results"]):
            truth = set(gt[(s + qi) * K:(s + qi + 1) * K])
            found += sum(1 for h in res["hits"] if int(h["id"]) in truth)
    return found / (len(vectors) * K)


def write_search_bodies(path, vectors, ef):
    """The wrk body file (bench/lua/bodies.lua): one search per line."""
    with open(path, "w") as f:
        for v in vectors:
            f.write(search_body(v, ef) + "\n")


BATCHED_ROW = f"vector search, {SEARCH_BATCH} queries per request"


def vector_rows(ctx):
    n, nq, nu = ctx.p["vec_base"], ctx.p["vec_queries"], ctx.p["vec_upsert"]
    if not os.path.isdir(DATASET):
        why = f"{DATASET} is missing (package dataset-fashion-mnist)"
        return [Row(r, u, skipped=why) for r, u in (("vector upsert (batch)", "vectors/s"),
                                                    ("vector search", "queries/s"),
                                                    (BATCHED_ROW, "queries/s"),
                                                    ("memory per 100k vectors", "MiB"))]
    train = _unpacked("train-images-idx3-ubyte.gz", "train.u8")
    test = _unpacked("t10k-images-idx3-ubyte.gz", "test.u8")
    have_peer = os.path.exists(ctx.args.hnsw_baseline)
    gt_path = os.path.join(cache_dir(), f"gt-n{n}-q{nq}-k{K}.i32")
    if not os.path.exists(gt_path):
        if not have_peer:
            raise RuntimeError("the exact ground truth needs kissvdb_bench_hnsw (built with the bench)")
        ctx.say(f"vectors: exact ground truth for {nq} queries over {n} vectors (cached in {cache_dir()})")
        _hnsw(ctx, "gt", "--base", train, "--n", n, "--queries", test, "--nq", nq, "--dim", DIM, "--k", K,
              "--out", gt_path + ".tmp")
        os.replace(gt_path + ".tmp", gt_path)
    with open(gt_path, "rb") as f:
        gt = list(struct.unpack(f"{nq * K}i", f.read()))

    upsert = Row("vector upsert (batch)", "vectors/s", peer_name="hnswlib (-march=native) in-process addPoint, 1 thread",
                 note=f"fresh collection of {nu} vectors, {BATCH}-item upsert_batch over 2 connections; "
                      f"M={M}, ef_construction={EFC}, dim {DIM}, l2")
    search = Row("vector search", "queries/s", peer_name="hnswlib (-march=native) in-process searchKnn, all cores",
                 min_ratio=0.8)
    batched = Row(BATCHED_ROW, "queries/s", peer_name="hnswlib (-march=native) in-process searchKnn, all cores", min_ratio=0.8)
    memory = Row("memory per 100k vectors", "MiB", peer_name="hnswlib in-process", higher_better=False)

    # The full index, on both sides: for search and memory.
    ctx.say(f"vectors: preparing {n} upsert bodies")
    bodies = _batches(train, n)
    rss0 = ctx.kiss.rss()
    secs = _kiss_upsert(ctx, "fmnist", bodies)
    del bodies
    ingest_mib = (ctx.kiss.rss() - rss0) / n * 100000 / 2**20
    ctx.say(f"vectors: KissVDB indexed {n} in {secs:.1f} s ({n / secs:.0f}/s)")
    index = os.path.join(ctx.tmp, "fmnist.hnsw")
    if have_peer:
        b = _hnsw(ctx, "build", "--base", train, "--n", n, "--dim", DIM, "--m", M, "--efc", EFC, "--save", index)
        memory.peer = b["rss_delta_bytes"] / n * 100000 / 2**20
        ctx.say(f"vectors: hnswlib indexed {n} in {b['seconds']:.1f} s ({b['vectors_per_s']:.0f}/s)")
    else:
        for r in (upsert, search, batched, memory):
            r.skipped = f"{ctx.args.hnsw_baseline} not built"

    # Upsert throughput: fresh collections, interleaved.
    ub = _batches(train, nu)
    run = [0]

    def kiss_up():
        run[0] += 1
        s = _kiss_upsert(ctx, f"up{run[0]}", ub)
        ctx.client.request("DELETE", f"/v1/vector/up{run[0]}")
        return {"rate": nu / s, "p50_us": 0, "p99_us": 0}

    def peer_up():
        r = _hnsw(ctx, "build", "--base", train, "--n", nu, "--dim", DIM, "--m", M, "--efc", EFC)
        return {"rate": r["vectors_per_s"], "p50_us": 0, "p99_us": 0}

    a, b = loadgen.interleave(ctx.p["runs"], kiss_up, peer_up if have_peer else None)
    upsert.kiss, upsert.peer = a["rate"], b["rate"] if b else None
    upsert.record_pairs(a, b)
    upsert.note += f"; KissVDB runs {a['samples']}" + (f"; hnswlib runs {b['samples']}" if b else "")
    ctx.say(f"vector upsert: KissVDB {upsert.kiss:.0f}/s vs hnswlib {upsert.peer}")

    # Search: the smallest ef at which both reach the recall target.
    queries = _rows(test, 0, nq)
    query_json = [vector_json(q) for q in queries]
    peer_recall = {}
    if have_peer:
        for r in _hnsw(ctx, "search", "--index", index, "--queries", test, "--nq", nq, "--dim", DIM, "--gt", gt_path,
                       "--k", K, "--ef", ",".join(map(str, EF_LADDER))):
            peer_recall[r["ef"]] = r["recall"]
    ef, kiss_recall = None, None
    for e in EF_LADDER:
        if have_peer and peer_recall[e] < TARGET_RECALL:
            continue
        kiss_recall = recall_at_k(ctx.client, "fmnist", query_json, gt, e)
        if kiss_recall >= TARGET_RECALL:
            ef = e
            break
    if ef is None:
        search.skipped = batched.skipped = f"recall@10 stays below {TARGET_RECALL} up to ef={EF_LADDER[-1]}"
        _restart_memory(ctx, memory, rss0, n, ingest_mib)
        return [upsert, search, batched, memory]
    body_file = os.path.join(ctx.tmp, f"search-ef{ef}.jsonl")
    write_search_bodies(body_file, query_json, ef)
    kiss = lambda: ctx.wrk_kiss("bodies.lua", {"KB_PATH": "/v1/vector/fmnist/search", "KB_BODY_FILE": body_file})

    def peer():
        r = _hnsw(ctx, "search", "--index", index, "--queries", test, "--nq", nq, "--dim", DIM, "--gt", gt_path,
                  "--k", K, "--ef", ef, "--seconds", ctx.p["seconds"])[0]
        return {"rate": r["qps"], "p50_us": 0, "p99_us": 0, "threads": r["threads"]}

    a, b = loadgen.interleave(ctx.p["runs"], kiss, peer if have_peer else None)
    search.kiss, search.peer = a["rate"], b["rate"] if b else None
    search.record_pairs(a, b)
    search.note = (f"k={K}, ef={ef} (the smallest of {EF_LADDER[:EF_LADDER.index(ef) + 1]} where both reach "
                   f"recall@10 ≥ {TARGET_RECALL}): recall KissVDB {kiss_recall:.4f}"
                   + (f", hnswlib {peer_recall[ef]:.4f}" if have_peer else "")
                   + f"; {n} vectors, {nq} test queries; HTTP: 64 connections, one query per POST"
                   + f"; KissVDB runs {a['samples']} (p50 {a['p50_us'] / 1000:.2f} ms, p99 {a['p99_us'] / 1000:.2f} ms)"
                   + (f"; hnswlib runs {b['samples']} ({b['threads']} threads)" if b else ""))
    ctx.say(f"vector search: KissVDB {search.kiss:.0f}/s vs hnswlib {search.peer}")

    # The same queries, SEARCH_BATCH per search_batch request; the peer is
    # the same in-process search, so it runs again, interleaved.
    batch_file = os.path.join(ctx.tmp, f"search-batch{SEARCH_BATCH}-ef{ef}.jsonl")
    with open(batch_file, "w") as f:
        for s in range(0, len(queries) - SEARCH_BATCH + 1, SEARCH_BATCH):
            qs = ",".join(search_body(v, ef) for v in query_json[s:s + SEARCH_BATCH])
            f.write('{"queries":[' + qs + ']}\n')

    def kiss_batched():
        r = ctx.wrk_kiss("bodies.lua", {"KB_PATH": "/v1/vector/fmnist/search_batch", "KB_BODY_FILE": batch_file})
        r["rate"] *= SEARCH_BATCH
        return r

    a, b = loadgen.interleave(ctx.p["runs"], kiss_batched, peer if have_peer else None)
    batched.kiss, batched.peer = a["rate"], b["rate"] if b else None
    batched.record_pairs(a, b)
    batched.note = (f"as above, {SEARCH_BATCH} queries per `search_batch` POST (queries/s = requests/s × "
                    f"{SEARCH_BATCH}); KissVDB runs {a['samples']} (per request: p50 {a['p50_us'] / 1000:.2f} ms, "
                    f"p99 {a['p99_us'] / 1000:.2f} ms)" + (f"; hnswlib runs {b['samples']}" if b else ""))
    ctx.say(f"vector search batched: KissVDB {batched.kiss:.0f}/s vs hnswlib {batched.peer}")
    _restart_memory(ctx, memory, rss0, n, ingest_mib)
    return [upsert, search, batched, memory]


def _restart_memory(ctx, memory, rss0, n, ingest_mib):
    """KissVDB's figure: RSS once restarted with the collection (loaded from
    its files) minus the empty daemon's; the growth during ingest (request
    bodies, allocator caches, the stream's ring) is in the note."""
    ctx.client.close()
    ctx.kiss.stop()
    ctx.kiss.start()
    ctx.client = Client(ctx.kiss.port, ctx.token)
    time.sleep(0.5)
    memory.kiss = (ctx.kiss.rss() - rss0) / n * 100000 / 2**20
    memory.note = (f"RSS of the process holding {n:,} Fashion-MNIST vectors, scaled to 100k (raw float32 data "
                   f"alone: {100000 * DIM * 4 / 2**20:.0f} MiB). KissVDB: after a restart, minus the empty daemon; "
                   f"its growth during the ingest itself was {ingest_mib:.0f} MiB per 100k. hnswlib: growth "
                   f"while building")
