"""Rows over HTTP request/response: KV GET, durable PUT, CAS, documents,
event append. Each compares KissVDB with a peer doing the
same work, interleaved A B A B, medians of the runs."""
import json

from . import loadgen, procs
from .ctx import VALUE_100
from .report import Row


def _load_state(ctx, prefix, n):
    ops = [{"key": f"{prefix}{i}", "value": VALUE_100} for i in range(n)]
    for i in range(0, n, 256):
        ctx.client.request("POST", "/v1/state/batch_put", {"operations": ops[i:i + 256]})


def _measure(ctx, row, kiss_fn, peer_fn):
    """Interleaves; fills row.kiss/row.peer (rates) and the samples note."""
    try:
        a, b = loadgen.interleave(ctx.p["runs"], kiss_fn, peer_fn)
    except loadgen.LoadError as e:
        row.skipped = row.skipped or str(e)
        ctx.say(f"FAILED {row.name}: {e}")
        return None, None
    row.kiss = a["rate"] if a else None
    row.peer = b["rate"] if b else None
    row.record_pairs(a, b)
    row.note = "; ".join(x for x in (row.note, _samples("KissVDB", a), _samples(row.peer_name, b)) if x)
    ctx.say(f"{row.name}: KissVDB {row.kiss} vs {row.peer_name} {row.peer}")
    return a, b


def _samples(who, r):
    if not r:
        return ""
    cpu = f", server CPU {r['cpu_us']:.0f} µs/request" if "cpu_us" in r else ""
    return f"{who} runs {r['samples']} (p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms{cpu})"


def kv_get(ctx):
    n = ctx.p["keys"]
    ctx.say(f"KV GET: loading {n} keys")
    _load_state(ctx, "g:", n)
    body = ctx.client.request("GET", "/v1/state/g:1")[1]
    rows = []
    nginx = ctx.peer("nginx")
    row = Row("KV GET", "req/s", peer_name="nginx, static body of the same size", min_ratio=0.7,
              note=f"{len(body)}-byte JSON body, {n} keys, random key per request")
    if nginx is None:
        row.skipped = ctx.missing["nginx"]
    else:
        nginx.put_file("kv", body)
    kiss = lambda: ctx.wrk_kiss(env={"KB_PATH": "/v1/state/g:{i}", "KB_N": n})
    peer = (lambda: ctx.wrk_peer(nginx, env={"KB_PATH": "/kv"})) if nginx else None
    _measure(ctx, row, kiss, peer)
    rows.append(row)

    row = Row("KV GET (vs Redis, no persistence)", "req/s", peer_name="redis-server GET (redis-benchmark)",
              note="context only: RESP vs HTTP/JSON")
    rb = ctx.redis_bench("redis-memory")
    if rb is None:
        row.skipped = ctx.missing["redis-memory"]
    else:
        procs.redis_set_many(ctx.peer("redis-memory").port, (f"g:{i:012d}" for i in range(n)), VALUE_100)
    peer = (lambda: rb.run(["GET", "g:__rand_int__"], keyspace=n)) if rb else None
    _measure(ctx, row, kiss, peer)
    rows.append(row)
    return rows


def kv_put(ctx):
    n = ctx.p["keys"]
    body = json.dumps({"value": VALUE_100})
    kiss = lambda: ctx.wrk_kiss(env={"KB_METHOD": "PUT", "KB_PATH": "/v1/state/p:{i}", "KB_BODY": body, "KB_N": n})
    r_redis = Row("KV PUT durable", "req/s", peer_name="redis-server appendfsync always (SET)", min_ratio=1.0,
                  note=f"100-byte values, {n} keys, every write fsync'd before the reply (group commit)")
    r_etcd = Row("KV PUT durable (vs etcd)", "req/s", peer_name="etcd /v3/kv/put (JSON gateway)", min_ratio=3.0)
    rb = ctx.redis_bench("redis-always")
    if rb is None:
        r_redis.skipped = ctx.missing["redis-always"]
    etcd = ctx.peer("etcd")
    if etcd is None:
        r_etcd.skipped = ctx.missing["etcd"]
    redis_fn = (lambda: rb.run(["SET", "p:__rand_int__", VALUE_100], keyspace=n)) if rb else None
    etcd_fn = (lambda: ctx.wrk_peer(etcd, env={
        "KB_METHOD": "POST", "KB_PATH": "/v3/kv/put", "KB_BODY": '{"key":"{b64key}","value":"{b64val}"}',
        "KB_KEYPREFIX": "p:", "KB_VALUE": VALUE_100, "KB_N": n}, send_token=False)) if etcd else None
    try:
        a, b, c = loadgen.interleave(ctx.p["runs"], kiss, redis_fn, etcd_fn)
    except loadgen.LoadError as e:
        r_redis.skipped = r_redis.skipped or str(e)
        ctx.say(f"FAILED KV PUT: {e}")
        return [r_redis, r_etcd]
    for row, peer in ((r_redis, b), (r_etcd, c)):
        row.kiss = a["rate"]
        row.peer = peer["rate"] if peer else None
        row.record_pairs(a, peer)
        row.note = "; ".join(x for x in (row.note, _samples("KissVDB", a), _samples(row.peer_name, peer)) if x)
        ctx.say(f"{row.name}: KissVDB {row.kiss} vs {row.peer_name} {row.peer}")
    return [r_redis, r_etcd]


def kv_cas(ctx):
    conns = 64
    row = Row("KV CAS", "req/s", peer_name="etcd /v3/kv/txn (compare mod_revision, put)",
              note=f"{conns} connections, one per wrk thread, {ctx.p['cas_keys']} keys each; "
                   "every write names the revision it expects")
    etcd = ctx.peer("etcd")
    if etcd is None:
        row.skipped = ctx.missing["etcd"]
    run = [0]

    def env(target):
        run[0] += 1
        return {"KB_TARGET": target, "KB_KEYS": ctx.p["cas_keys"], "KB_KEYPREFIX": f"cas{run[0]}:",
                "KB_VALUE": VALUE_100}

    def check(r):
        if r["failed"]:
            raise loadgen.LoadError(f"{r['failed']} compare failures: a connection lost track of its revisions")
        return r

    kiss = lambda: check(ctx.wrk_kiss("cas.lua", env("kissvdb"), connections=conns, threads=conns))
    peer = (lambda: check(ctx.wrk_peer(etcd, "cas.lua", env("etcd"), send_token=False, connections=conns,
                                       threads=conns))) if etcd else None
    _measure(ctx, row, kiss, peer)
    return [row]


DOC = {"title": "benchmark document", "author": "kbench", "year": 2024, "tags": ["a", "b", "c"],
       "text": "x" * 60}


def doc_put_get(ctx):
    n = ctx.p["keys"]
    doc = json.dumps(DOC, separators=(",", ":"))
    ctx.say(f"docs: loading {n} documents")
    bodies = [(f"/v1/doc/bench/d{i}", doc) for i in range(n)]
    from .client import parallel
    parallel(ctx.kiss.port, ctx.token, bodies, "PUT", None, workers=8)
    got = ctx.client.request("GET", "/v1/doc/bench/d1")[1]
    rows = []
    put = Row("doc PUT durable", "req/s", peer_name="redis-server appendfsync always (SET of the same JSON)",
              note=f"{len(doc)}-byte document, {n} ids")
    rb = ctx.redis_bench("redis-always")
    if rb is None:
        put.skipped = ctx.missing["redis-always"]
    kiss = lambda: ctx.wrk_kiss(env={"KB_METHOD": "PUT", "KB_PATH": "/v1/doc/bench/d{i}", "KB_BODY": doc,
                                     "KB_N": n})
    peer = (lambda: rb.run(["SET", "d:__rand_int__", doc], keyspace=n)) if rb else None
    _measure(ctx, put, kiss, peer)
    rows.append(put)

    get = Row("doc GET", "req/s", peer_name="nginx, static body of the same size",
              note=f"{len(got)}-byte response")
    nginx = ctx.peer("nginx")
    if nginx is None:
        get.skipped = ctx.missing["nginx"]
    else:
        nginx.put_file("doc", got)
    kiss = lambda: ctx.wrk_kiss(env={"KB_PATH": "/v1/doc/bench/d{i}", "KB_N": n})
    peer = (lambda: ctx.wrk_peer(nginx, env={"KB_PATH": "/doc"})) if nginx else None
    _measure(ctx, get, kiss, peer)
    rows.append(get)
    return rows


def doc_find(ctx):
    """Issue #6: indexed find against the same find forced to scan, at
    ctx.p["keys"] documents (100k in the full run), over HTTP."""
    n = ctx.p["keys"]
    ctx.say(f"doc find: loading {n} documents with a unique field")
    bodies = [(f"/v1/doc/findbench/d{i}", json.dumps(dict(DOC, n=i), separators=(",", ":"))) for i in range(n)]
    from .client import parallel
    parallel(ctx.kiss.port, ctx.token, bodies, "PUT", None, workers=8)
    plan = json.loads(ctx.client.request("POST", "/v1/doc/findbench/find", {"filter": {"n": 7}})[1])["plan"]
    scan = json.loads(ctx.client.request("POST", "/v1/doc/findbench/find",
                                         {"filter": {"$or": [{"n": 7}]}})[1])["plan"]
    row = Row("doc find, indexed equality", "req/s", peer_name="the same find as a full scan ($or defeats the index)",
              note=f"{n} documents, `{{\"n\": <random>}}` on a unique field: plan {plan.get('used')} "
                   f"(examined {plan.get('examined')}) vs {scan.get('used')} (examined {scan.get('examined')})")
    path = "/v1/doc/findbench/find"
    kiss = lambda: ctx.wrk_kiss(env={"KB_METHOD": "POST", "KB_PATH": path, "KB_N": n,
                                     "KB_BODY": '{"filter":{"n":{i}},"limit":10}'})
    # A scan takes ~100 ms at 100k documents: 2 connections keep both io
    # threads busy without piling up requests past wrk's 2 s timeout.
    peer = lambda: ctx.wrk_kiss(env={"KB_METHOD": "POST", "KB_PATH": path, "KB_N": n,
                                     "KB_BODY": '{"filter":{"$or":[{"n":{i}}]},"limit":10}'},
                                connections=2, threads=2)
    _measure(ctx, row, kiss, peer)
    return [row]


def event_append(ctx):
    body = json.dumps({"type": "bench", "data": {"v": VALUE_100}})
    row = Row("event append durable", "req/s", peer_name="redis-server appendfsync always (XADD)",
              note="100-byte payload")
    rb = ctx.redis_bench("redis-always")
    if rb is None:
        row.skipped = ctx.missing["redis-always"]
    kiss = lambda: ctx.wrk_kiss(env={"KB_METHOD": "POST", "KB_PATH": "/v1/events", "KB_BODY": body})
    peer = (lambda: rb.run(["XADD", "kb:stream", "*", "v", VALUE_100])) if rb else None
    _measure(ctx, row, kiss, peer)
    return [row]
