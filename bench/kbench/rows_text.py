"""Text and hybrid search rows on Debian's package descriptions
(kbench/text_corpus.py: long descriptions indexed, each package's summary
its query, LSA vectors of 256 dimensions).

One vector collection holds every item with its vector and its long
description as the text field (tokenizer porter). Rows:

- quality: MRR@10 and recall@10 of the same queries answered by text only
  (BM25), vector only, hybrid RRF (and variants that help a weak dense
  leg) and weighted fusion at vector_weight 0.2 / 0.5 / 0.8; the one
  relevant item is the package the summary belongs to. The text-only row
  also shows SQLite FTS5's bm25 ranking of the same OR query (what the
  daemon's index is built on: the two should agree).
- text search throughput over HTTP (64 connections) against PostgreSQL 15
  full-text search (pgbench, 64 clients, prepared statements, ts_rank_cd
  over a GIN index) and against SQLite FTS5 in-process (the limit:
  bench/peers/fts5_baseline.cc, no HTTP, no JSON).
- hybrid (RRF) throughput against vector-only search on the same collection.

Every side answers "any of the words, best first": the daemon's plain text
query ORs the words of the query; the peers get the same words OR'd
("w1" OR "w2" for FTS5, to_tsquery('english', 'w1 | w2') for PostgreSQL).
"""
import csv
import io
import json
import os
import re
import subprocess
import time

from . import loadgen, text_corpus
from .client import for_each, upsert_batches
from .ctx import with_cpu
from .report import Row

COLLECTION = "debdesc"
K = 10
BATCH = 1000
TOKENIZER = "porter"
RRF = {"method": "rrf", "k": 60}

# name -> the search body's members besides k, text and vector (None: that
# leg is not sent). The RRF variants are the ones that help a weak dense
# leg: a lower vector weight (0.5, 0.25), a deeper candidate list, both.
MODES = [
    ("text only (BM25)", {"text": True, "vector": False}),
    ("vector only (LSA 256)", {"text": False, "vector": True}),
    ("hybrid RRF k=60", {"fusion": RRF}),
    ("hybrid RRF, weights text 1 / vector 0.5", {"fusion": dict(RRF, weights={"text": 1, "vector": 0.5})}),
    ("hybrid RRF, weights text 1 / vector 0.25", {"fusion": dict(RRF, weights={"text": 1, "vector": 0.25})}),
    ("hybrid RRF, candidates 200", {"fusion": RRF, "candidates": 200}),
    ("hybrid RRF, weights 1 / 0.5, candidates 200",
     {"fusion": dict(RRF, weights={"text": 1, "vector": 0.5}), "candidates": 200}),
    ("hybrid weighted, vector_weight 0.2", {"fusion": {"method": "weighted", "vector_weight": 0.2}}),
    ("hybrid weighted, vector_weight 0.5", {"fusion": {"method": "weighted", "vector_weight": 0.5}}),
    ("hybrid weighted, vector_weight 0.8", {"fusion": {"method": "weighted", "vector_weight": 0.8}}),
]
HYBRID_MODE = "hybrid RRF k=60"  # the throughput row's body
VECTOR_MODE = "vector only (LSA 256)"
TEXT_MODE = "text only (BM25)"
# PostgreSQL's ranking is checked on fewer queries: ts_rank_cd over every
# match of an OR query takes up to a second on the full corpus.
PG_QUALITY_QUERIES = 200
# An OR query of common words matches a good part of the corpus: 64
# connections queue for seconds on a busy 2-core machine (wrk's default 10 s
# would count timeouts as errors). For the same reason the throughput runs
# are longer than other rows' (ctx "text_seconds": 30 s in a full run): wrk
# drops the requests in flight when a run ends (pgbench lets them finish), so
# a run must last many times the latency for the rate to hold.
WRK_TIMEOUT_S = 60

PG_ROW = "text search (vs PostgreSQL FTS)"
FTS5_ROW = "text search (vs SQLite FTS5 in-process)"
HYBRID_ROW = "hybrid search (RRF) vs vector-only"


class PeerError(loadgen.LoadError):
    """A peer's run failed: its row is "not measured", the run goes on."""


def vector_json(v):
    return "[" + ",".join("%.7g" % x for x in v) + "]"


def query_words(text):
    """The distinct words of a query, in order (what the daemon ORs)."""
    return list(dict.fromkeys(text_corpus.words(text)))


# The English stop words the daemon drops from plain queries of porter
# indexes (src/text/query.cc; the Snowball list of PostgreSQL's english
# configuration), so the in-process FTS5 peer runs the daemon's own query.
ENGLISH_STOP = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself
it its itself they them their theirs themselves what which who whom this that these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until while of at by for with
about against between into through during before after above below to from up down in out on off over under
again further then once here there when where why how all any both each few more most other some such no nor not
only own same so than too very s t can will just don should now""".split())


def fts5_or(text):
    words = [w for w in query_words(text) if w.lower() not in ENGLISH_STOP]
    # Only stop words: the empty string phrase, which matches nothing (the
    # daemon's empty result), where an empty MATCH would be a syntax error.
    return " OR ".join('"%s"' % w.replace('"', '""') for w in words) or '""'



def pg_or(text):
    return " | ".join(query_words(text))


def search_body(mode, short, qvec):
    spec = dict(mode)
    b = {"k": K}
    if spec.pop("text", True):
        b["text"] = short
    if spec.pop("vector", True):
        b["vector"] = "@V@"
    b.update(spec)
    return json.dumps(b, separators=(",", ":"), ensure_ascii=False).replace('"@V@"', vector_json(qvec))


# ---- the data, on every side ----

def _kiss_load(ctx, corpus, name=COLLECTION, workers=2):
    """Creates the collection (vectors + a text index over meta.text) and
    upserts every item; returns the seconds it took."""
    ctx.client.request("POST", f"/v1/vector/{name}", {"dim": corpus.dim, "metric": "cosine", "m": 16,
                                                      "ef_construction": 100, "text_fields": ["text"],
                                                      "text_tokenizer": TOKENIZER})
    n = len(corpus.items)

    def body(s):
        items = []
        for i in range(s, min(n, s + BATCH)):
            it = corpus.items[i]
            meta = json.dumps({"text": it["long"], "name": it["name"]}, separators=(",", ":"), ensure_ascii=False)
            items.append('{"id":%s,"vector":%s,"meta":%s}' % (json.dumps(it["name"]), vector_json(corpus.vector(i)),
                                                              meta))
        return '{"items":[' + ",".join(items) + "]}"

    t0 = time.monotonic()
    upsert_batches(ctx.kiss.port, ctx.token, name, (body(s) for s in range(0, n, BATCH)), workers)
    return time.monotonic() - t0


def _kiss_quality(ctx, corpus, nq, mode, per_request=50, workers=2):
    """(MRR@10, recall@10) of the first nq queries answered in `mode`,
    through search_batch."""
    index = {it["name"]: i for i, it in enumerate(corpus.items)}
    chunks = list(range(0, nq, per_request))
    ranks = [None] * nq

    def ask(c, s):
        js = range(s, min(nq, s + per_request))
        body = '{"queries":[' + ",".join(
            search_body(mode, corpus.items[corpus.queries[j]]["short"], corpus.qvector(j)) for j in js) + "]}"
        r = json.loads(c.request("POST", f"/v1/vector/{COLLECTION}/search_batch", body)[1])
        for j, res in zip(js, r["results"]):
            ids = [index.get(h["id"]) for h in res["hits"]][:K]
            rel = corpus.queries[j]
            ranks[j] = ids.index(rel) + 1 if rel in ids else 0

    for_each(ctx.kiss.port, ctx.token, chunks, ask, workers)
    return _metrics(ranks)


def _metrics(ranks):
    """ranks: the 1-based rank of the relevant item in each top 10, 0 if
    absent -> (MRR@10, recall@10)."""
    n = max(1, len(ranks))
    return sum(1.0 / r for r in ranks if r) / n, sum(1 for r in ranks if r) / n


class Fts5Peer:
    """bench/peers/fts5_baseline.cc on the same documents and OR queries."""

    def __init__(self, ctx, corpus, nq):
        self.ctx, self.binary = ctx, ctx.args.fts5_baseline
        d = os.path.join(ctx.tmp, "fts5")
        os.makedirs(d, exist_ok=True)
        self.db, self.docs, self.queries = (os.path.join(d, x) for x in ("fts5.db", "docs.txt", "queries.txt"))
        with open(self.docs, "w") as f:  # line i = item i (descriptions hold no newline)
            for it in corpus.items:
                f.write(it["long"].replace("\n", " ") + "\n")
        with open(self.queries, "w") as f:
            for j in range(nq):
                f.write(fts5_or(corpus.items[corpus.queries[j]]["short"]) + "\n")
        self.corpus, self.nq = corpus, nq

    def _run(self, *extra):
        out = subprocess.run([self.binary, "--db", self.db, "--docs", self.docs, "--queries", self.queries]
                             + [str(x) for x in extra], capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise PeerError(f"kissvdb_bench_fts5: {out.stderr.strip()[:300]}")
        return json.loads(out.stdout)

    def quality(self):
        top = os.path.join(os.path.dirname(self.db), "top.txt")
        self._run("--top-out", top)
        ranks = []
        with open(top) as f:
            for j, line in enumerate(f):
                ids = [int(x) for x in line.split()][:K]
                rel = self.corpus.queries[j]
                ranks.append(ids.index(rel) + 1 if rel in ids else 0)
        return _metrics(ranks)

    def run(self):
        r = self._run("--threads", 2, "--seconds", self.ctx.p["text_seconds"])
        return {"rate": r["qps"], "p50_us": 0, "p99_us": 0, "threads": r["threads"]}


class PostgresPeer:
    """PostgreSQL 15 full-text search on the same documents: a stored
    tsvector column (to_tsvector('english', body)) with a GIN index, the
    queries in a table, pgbench picking one at random per transaction."""

    def __init__(self, ctx, pg, corpus, nq):
        self.ctx, self.pg = ctx, pg
        t0 = time.monotonic()
        pg.psql("CREATE TABLE docs(id int PRIMARY KEY, body text NOT NULL, "
                "tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED); "
                "CREATE TABLE queries(id int PRIMARY KEY, q text NOT NULL)")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for i, it in enumerate(corpus.items):
            w.writerow([i, it["long"]])
        pg.psql("COPY docs(id, body) FROM STDIN WITH (FORMAT csv)", stdin=buf.getvalue())
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for j in range(nq):
            w.writerow([j + 1, pg_or(corpus.items[corpus.queries[j]]["short"])])
        pg.psql("COPY queries(id, q) FROM STDIN WITH (FORMAT csv)", stdin=buf.getvalue())
        pg.psql("CREATE INDEX docs_tsv ON docs USING gin(tsv)")
        pg.psql(self.FUNCTION)
        pg.psql("VACUUM ANALYZE docs")
        pg.psql("VACUUM ANALYZE queries")
        self.load_s = time.monotonic() - t0
        self.script = os.path.join(ctx.tmp, "pgbench-text.sql")
        with open(self.script, "w") as f:
            f.write(f"\\set q random(1, {nq})\n" + self.SQL.replace("$1", ":q") + ";\n")
        self.corpus, self.nq = corpus, nq
        self.plan = pg.psql("EXPLAIN (ANALYZE, COSTS OFF) " + self.SQL.replace("$1", "1"))

    # kb_query(id): the query's tsquery, built once per query (a function
    # with a FROM is not inlined: to_tsquery is not re-run per matched row).
    FUNCTION = ("CREATE FUNCTION kb_query(int) RETURNS tsquery LANGUAGE sql STABLE AS "
                "$$ SELECT to_tsquery('english', q) FROM queries WHERE id = $1 $$")
    SQL = "SELECT id FROM docs, kb_query($1) AS tq WHERE tsv @@ tq ORDER BY ts_rank_cd(tsv, tq) DESC LIMIT 10"

    def quality(self, nq):
        """(MRR@10, recall@10) of ts_rank_cd's top 10 for the first nq
        queries, one psql call."""
        out = self.pg.psql("SELECT qq.id, (SELECT string_agg(id::text, ' ') FROM (" +
                           self.SQL.replace("$1", "qq.id") + f") t) FROM queries qq WHERE qq.id <= {nq} ORDER BY qq.id")
        ranks = [0] * nq
        for line in out.splitlines():
            qid, _, ids = line.partition("|")
            got = [int(x) for x in ids.split()][:K]
            rel = self.corpus.queries[int(qid) - 1]
            ranks[int(qid) - 1] = got.index(rel) + 1 if rel in got else 0
        return _metrics(ranks)

    def run(self):
        # 64 backends take a moment to start and prepare: at least 3 s.
        secs = max(3, round(self.ctx.p["text_seconds"]))
        argv = self.pg.client("pgbench", "-n", "-M", "prepared", "-f", self.script, "-c", "64", "-j", "2", "-T",
                              str(secs), "postgres")
        out = subprocess.run(argv, capture_output=True, text=True, timeout=secs * 10 + 300)
        tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
        if out.returncode != 0 or not tps or (failed and int(failed.group(1))):
            raise PeerError(f"pgbench failed ({out.returncode}): {out.stderr.strip()[:300]} "
                                    f"{out.stdout[-300:]}")
        lat = re.search(r"latency average = ([0-9.]+) ms", out.stdout)
        return {"rate": float(tps.group(1)), "p50_us": 0, "p99_us": 0,
                "avg_ms": float(lat.group(1)) if lat else None}


# ---- the rows ----

def text_rows(ctx):
    n_items, nq = ctx.p["text_items"], ctx.p["text_queries"]
    quality = [Row(f"text quality: {name}", "MRR@10") for name, _ in MODES]
    pg_row = Row(PG_ROW, "queries/s", peer_name="PostgreSQL 15 tsvector + GIN, ts_rank_cd (pgbench, 64 clients)",
                 min_ratio=1.0)
    fts5_row = Row(FTS5_ROW, "queries/s", peer_name="SQLite FTS5 in-process, bm25, 2 threads")
    hybrid_row = Row(HYBRID_ROW, "queries/s", peer_name="KissVDB vector-only search, same collection",
                     min_ratio=0.7)
    rows = quality + [pg_row, fts5_row, hybrid_row]
    try:
        corpus = text_corpus.load(n_items, log=ctx.say)
    except RuntimeError as e:
        for r in rows:
            r.skipped = str(e)
        return rows
    nq = min(nq, len(corpus.queries))
    st = corpus.stats
    sample = f"an even sample of the {st['unique_items']:,}" if len(corpus.items) < st["unique_items"] else "the"
    about = (f"{len(corpus.items):,} Debian package long descriptions ({sample} unique ones of bookworm's "
             f"Translation-en: {st['packages']:,} read, {st['duplicate_long']:,} repeating another's dropped; "
             f"corpus file {os.path.basename(corpus.path)}), {nq} package summaries as queries, each with one "
             f"relevant item (its package)")
    ctx.say(f"text: {about}; loading into KissVDB")
    secs = _kiss_load(ctx, corpus)
    ctx.say(f"text: KissVDB indexed {len(corpus.items)} items (vector + text) in {secs:.1f} s "
            f"({len(corpus.items) / secs:.0f}/s)")

    # Quality: every mode on the same queries.
    fts5 = None
    if os.path.exists(ctx.args.fts5_baseline or ""):
        fts5 = Fts5Peer(ctx, corpus, nq)
    else:
        fts5_row.skipped = f"{ctx.args.fts5_baseline or 'kissvdb_bench_fts5'} not built"
    for (name, mode), row in zip(MODES, quality):
        mrr, rec = _kiss_quality(ctx, corpus, nq, mode)
        row.kiss = mrr
        body = search_body(mode, "…", [0.0])
        row.note = (f"recall@10 {rec:.3f}; body `{body.replace('[0]', '[…]')}`; "
                    + (f"{about}; LSA vectors: TF-IDF ({st['vocabulary']:,} terms) + truncated SVD to {corpus.dim} "
                       f"(explained variance {st['explained_variance']:.2f}), the query's from its summary"
                       if row is quality[0] else "same corpus and queries as the first quality row"))
        ctx.say(f"text quality: {name}: MRR@10 {mrr:.3f}, recall@10 {rec:.3f}")
    vec_row = quality[[name for name, _ in MODES].index(VECTOR_MODE)]
    vec_row.peer_name = "exact cosine top 10 (brute force)"
    exact = corpus.exact_vector_rank[:nq]
    vec_row.peer, exact_rec = _metrics(exact)
    vec_row.note += (f"; exact recall@10 {exact_rec:.3f}" + (f" (first {len(exact)} queries)" if len(exact) < nq else "")
                     + " (the HNSW search's loss is the ratio)")
    text_row = quality[0]
    if fts5 is not None:
        mrr, rec = fts5.quality()
        text_row.peer_name, text_row.peer = "SQLite FTS5 bm25, same OR query (in-process)", mrr
        text_row.note += f"; FTS5 recall@10 {rec:.3f}"
        ctx.say(f"text quality: FTS5 in-process: MRR@10 {mrr:.3f}, recall@10 {rec:.3f}")

    # Throughput: the same text queries, one per POST, against PostgreSQL
    # over its protocol and FTS5 in-process, interleaved.
    bodies = {}
    for name in (TEXT_MODE, VECTOR_MODE, HYBRID_MODE):
        mode = dict(MODES)[name]
        bodies[name] = os.path.join(ctx.tmp, f"text-{len(bodies)}.jsonl")
        with open(bodies[name], "w") as f:
            for j in range(nq):
                f.write(search_body(mode, corpus.items[corpus.queries[j]]["short"], corpus.qvector(j)) + "\n")
    path = f"/v1/vector/{COLLECTION}/search"
    secs = ctx.p["text_seconds"]
    env = lambda b: {"KB_TOKEN": ctx.token, "KB_PATH": path, "KB_BODY_FILE": b}
    kiss = {name: (lambda b=b: with_cpu(ctx.kiss.proc.pid, lambda: loadgen.wrk(
                ctx.kiss_url(), "bodies.lua", secs, env=env(b), timeout_s=WRK_TIMEOUT_S)))
            for name, b in bodies.items()}

    pg_peer = None
    pg = ctx.peer("postgres")
    if pg is None:
        pg_row.skipped = ctx.missing["postgres"]
    else:
        try:
            pg_peer = PostgresPeer(ctx, pg, corpus, nq)
            ctx.say(f"text: PostgreSQL loaded and indexed {len(corpus.items)} items in {pg_peer.load_s:.1f} s")
            pg_mrr, pg_rec = pg_peer.quality(min(nq, PG_QUALITY_QUERIES))
            ctx.say(f"text quality: PostgreSQL ts_rank_cd: MRR@10 {pg_mrr:.3f}, recall@10 {pg_rec:.3f}")
        except Exception as e:  # noqa: BLE001 - a peer that fails is reported, not fatal
            pg_row.skipped = f"PostgreSQL setup failed: {e}"
            ctx.say(f"SKIP postgres: {e}")
            pg_peer = None
    # A failed load run of KissVDB (wrk: errors or status >= 400) marks
    # the row, as rows_kv._measure does; the quality rows stay.
    try:
        a, b, c = _interleave(ctx, kiss[TEXT_MODE], (pg_peer and pg_peer.run, pg_row), (fts5 and fts5.run, fts5_row))
        kiss_note = _samples("KissVDB", a)
        pg_row.kiss = fts5_row.kiss = a["rate"]
        pg_row.peer, fts5_row.peer = (b["rate"] if b else None), (c["rate"] if c else None)
        pg_row.record_pairs(a, b)
        fts5_row.record_pairs(a, c)
        common = (f"top {K}, any of the words (OR) ranked, one query per request; the corpus and queries of the "
                  f"quality rows; KissVDB: "
                  f'`{{"k":{K},"text":…}}` to /v1/vector/{{c}}/search (text index over meta.text, '
                  f"tokenizer {TOKENIZER}), "
                  f"wrk 64 connections; {kiss_note}")
        pg_row.note = (common + "; PostgreSQL: its own server (initdb defaults, fsync on, shared_buffers 128MB) over "
                       "TCP, `pgbench -M prepared -c 64 -j 2`, the query text picked by a random id from a table: "
                       "`" + PostgresPeer.SQL + "` where kb_query(id) is `to_tsquery('english', q)` of the "
                       "query's words joined with ` | ` (`" + PostgresPeer.FUNCTION + "`; the english "
                       "configuration drops stop words, "
                       "KissVDB drops the same words from plain queries of porter indexes, and the FTS5 peer "
                       "runs that query); "
                       + (f"load + GIN index {pg_peer.load_s:.0f} s; MRR@10 {pg_mrr:.3f}, recall@10 {pg_rec:.3f} "
                          f"(first {min(nq, PG_QUALITY_QUERIES)} queries); runs {b['samples']} "
                          f"(latency average {b['avg_ms']} ms)" if b else ""))
        fts5_row.note = (common + "; FTS5 (the limit, what the daemon's text index is built on): "
                         "fts5(body, tokenize='porter unicode61'), `SELECT rowid … MATCH '\"w1\" OR \"w2\" …' "
                         "ORDER BY rank LIMIT 10` (rank = bm25), prepared, one read-only connection per thread, "
                         "no HTTP or JSON" + (f"; runs {c['samples']}" if c else ""))
        ctx.say(f"text search: KissVDB {a['rate']:.0f}/s vs PostgreSQL {pg_row.peer} vs FTS5 {fts5_row.peer}")
    except loadgen.LoadError as e:
        pg_row.skipped = fts5_row.skipped = str(e)
        ctx.say(f"FAILED text search throughput: {e}")
    try:
        # Hybrid against vector-only, same collection and queries.
        a, b = loadgen.interleave(ctx.p["runs"], kiss[HYBRID_MODE], kiss[VECTOR_MODE])
        hybrid_row.kiss, hybrid_row.peer = a["rate"], b["rate"]
        hybrid_row.record_pairs(a, b)
        hybrid_row.note = (f"`{search_body(dict(MODES)[HYBRID_MODE], '…', [0.0]).replace('[0]', '[…]')}` vs "
                           f"`{search_body(dict(MODES)[VECTOR_MODE], '…', [0.0]).replace('[0]', '[…]')}`, default "
                           f"candidates; the corpus and queries of the quality rows; wrk 64 connections, one "
                           f"query per POST; hybrid {_samples('', a)}; vector-only {_samples('', b)}")
        ctx.say(f"hybrid: {a['rate']:.0f}/s vs vector-only {b['rate']:.0f}/s")
    except loadgen.LoadError as e:
        hybrid_row.skipped = str(e)
        ctx.say(f"FAILED hybrid throughput: {e}")
    return rows


def _interleave(ctx, kiss, *peers):
    """loadgen.interleave for KissVDB and peers given as (run or None,
    row): a peer whose run fails (PeerError) marks its row "not measured"
    and drops out; the others go on."""
    samples = [[] for _ in range(1 + len(peers))]
    dead = [run is None for run, _ in peers]
    for _ in range(ctx.p["runs"]):
        samples[0].append(kiss())
        for i, (run, row) in enumerate(peers):
            if dead[i]:
                continue
            try:
                samples[i + 1].append(run())
            except PeerError as e:
                dead[i], row.skipped = True, str(e)
                ctx.say(f"SKIP {row.peer_name}: {e}")
    return [loadgen.median_result(s) if s and not (i and dead[i - 1]) else None for i, s in enumerate(samples)]


def _samples(who, r):
    cpu = f", server CPU {r['cpu_us']:.0f} µs/request" if "cpu_us" in r else ""
    return (f"{who} runs {r['samples']} (p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms{cpu})"
            .strip())
