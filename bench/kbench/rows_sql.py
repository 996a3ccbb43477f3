"""The SQL rows: KissVDB's /v1/sql routes against PostgreSQL 15, the server
a user would pick for SQL over the network (pgbench, prepared statements,
64 clients), and against SQLite in-process, the limit no network server
reaches (issue 24).

- point SELECT by primary key, same table and key distribution on both;
- INSERT, durable on both: KissVDB's /v1/sql/exec with durability=always
  (SQLite WAL, synchronous=FULL: one fsync per commit, one writer) against
  PostgreSQL with synchronous_commit=on (group commit across backends)."""
import json
import os
import re
import subprocess
import time

from . import loadgen, procs
from .ctx import VALUE_100
from .report import Row
from .rows_kv import _measure

SQL_SELECT = "SELECT id, v FROM bench_kv WHERE id = ?"


def sql_rows(ctx):
    n = ctx.p["sql_rows"]
    ctx.say(f"SQL: loading {n} rows")
    ctx.client.request("POST", "/v1/sql/exec",
                       {"sql": "CREATE TABLE IF NOT EXISTS bench_kv(id INTEGER PRIMARY KEY, v TEXT)"})
    ctx.client.request("POST", "/v1/sql/exec", {
        "sql": "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
               "INSERT OR REPLACE INTO bench_kv(id, v) SELECT x, ? FROM c", "params": [n - 1, VALUE_100]})
    row = Row("SQL point SELECT (vs SQLite in-process, the limit)", "req/s",
              peer_name="SQLite in-process, prepared statement, all cores",
              min_ratio=0.5, note=f"`{SQL_SELECT}`, {n} rows, random id")
    body = json.dumps({"sql": SQL_SELECT, "params": [0]}).replace("[0]", "[{i}]")
    kiss = lambda: ctx.wrk_kiss(env={"KB_METHOD": "POST", "KB_PATH": "/v1/sql/query", "KB_BODY": body, "KB_N": n})
    db = os.path.join(ctx.tmp, "sqlite-peer.db")

    def in_process():
        out = subprocess.run([ctx.args.sqlite_baseline, "--db", db, "--rows", str(n), "--seconds",
                              str(ctx.p["seconds"])], capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise loadgen.LoadError(f"kissvdb_bench_sqlite: {out.stderr.strip()}")
        r = json.loads(out.stdout)
        return {"rate": r["qps"], "p50_us": 0, "p99_us": 0}

    peer = in_process
    if not os.path.exists(ctx.args.sqlite_baseline):
        row.skipped = f"{ctx.args.sqlite_baseline} not built"
        peer = None
    _measure(ctx, row, kiss, peer)
    row.note = row.note.replace(" (p50 0.00 ms, p99 0.00 ms)", "")

    # Context: the same requests against the HTTP ceiling.
    ceiling = Row("SQL point SELECT (vs the HTTP ceiling)", "req/s", peer_name="nginx, static body of the same size",
                  note="context only: how much of the HTTP ceiling the SQL route reaches")
    nginx = ctx.peer("nginx")
    if nginx is None:
        ceiling.skipped = ctx.missing["nginx"]
    else:
        nginx.put_file("sql", ctx.client.request("POST", "/v1/sql/query", {"sql": SQL_SELECT, "params": [1]})[1])
    peer = (lambda: ctx.wrk_peer(nginx, env={"KB_PATH": "/sql"})) if nginx else None
    _measure(ctx, ceiling, kiss, peer)
    return [row, ceiling] + sql_postgres(ctx, kiss)


def _backends(postmaster):
    """The pids of the postmaster's children serving pgbench's clients (the
    background workers stay; these leave with their clients)."""
    out = []
    try:
        for task in os.listdir(f"/proc/{postmaster}/task"):
            with open(f"/proc/{postmaster}/task/{task}/children") as f:
                for pid in f.read().split():
                    with open(f"/proc/{pid}/cmdline", "rb") as c:
                        if b"postgres postgres 127.0.0.1" in c.read().replace(b"\0", b" "):
                            out.append(pid)
    except OSError:
        pass
    return out


def _pgbench(ctx, pg, script_name, sql_lines):
    """A side that runs pgbench -M prepared -c 64 -j 2 for the row's seconds."""
    script = os.path.join(ctx.tmp, script_name)
    with open(script, "w") as f:
        f.write("\n".join(sql_lines) + "\n")
    os.chmod(script, 0o644)

    def run():
        secs = max(3, round(ctx.p["seconds"]))  # 64 backends take a moment to start
        c0 = procs.cpu_seconds(pg.proc.pid)
        argv = pg.client("pgbench", "-n", "-M", "prepared", "-f", script, "-c", "64", "-j", "2", "-T", str(secs),
                         "postgres")
        out = subprocess.run(argv, capture_output=True, text=True, timeout=secs * 10 + 300)
        tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
        if out.returncode != 0 or not tps or (failed and int(failed.group(1))):
            raise loadgen.LoadError(f"pgbench failed ({out.returncode}): {out.stderr.strip()[:300]} "
                                    f"{out.stdout[-300:]}")
        lat = re.search(r"latency average = ([0-9.]+) ms", out.stdout)
        avg = float(lat.group(1)) * 1000 if lat else 0
        done = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
        n = int(done.group(1)) if done else int(float(tps.group(1)) * secs)
        deadline = time.monotonic() + 5  # the backends exit: their CPU lands in the postmaster's
        while _backends(pg.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        return {"rate": float(tps.group(1)), "p50_us": avg, "p99_us": 0, "requests": n,
                "cpu_us": (procs.cpu_seconds(pg.proc.pid) - c0) * 1e6 / max(1, n)}
    return run


def sql_postgres(ctx, kiss_select):
    """Point SELECT and durable INSERT against PostgreSQL 15."""
    n = ctx.p["sql_rows"]
    select = Row("SQL point SELECT (vs PostgreSQL)", "req/s",
                 peer_name="PostgreSQL 15, pgbench -M prepared -c 64 -j 2", min_ratio=1.0,
                 note=f"`{SQL_SELECT}` (`$1` in PostgreSQL), {n} rows, random id; pgbench's latency is its average")
    insert = Row("SQL INSERT durable (vs PostgreSQL)", "req/s",
                 peer_name="PostgreSQL 15, synchronous_commit=on, pgbench -M prepared -c 64 -j 2", min_ratio=1.0,
                 note="`INSERT INTO bench_ins(v) VALUES (?)` with a 100-byte text, an INTEGER PRIMARY KEY / serial "
                      "id; both acknowledge only after an fsync (KissVDB: SQLite WAL, synchronous=FULL, one writer; "
                      "PostgreSQL: its WAL, group commit across backends)")
    pg = ctx.peer("postgres")
    if pg is None:
        select.skipped = insert.skipped = ctx.missing["postgres"]
    else:
        pg.psql("CREATE TABLE IF NOT EXISTS bench_kv(id integer PRIMARY KEY, v text); "
                f"INSERT INTO bench_kv SELECT g, '{VALUE_100}' FROM generate_series(0, {n - 1}) g "
                "ON CONFLICT DO NOTHING; CREATE TABLE IF NOT EXISTS bench_ins(id serial PRIMARY KEY, v text)")
        pg.psql("VACUUM ANALYZE bench_kv")
    pg_select = _pgbench(ctx, pg, "pgbench-select.sql", [f"\\set id random(0, {n - 1})",
                                                          "SELECT id, v FROM bench_kv WHERE id = :id;"]) if pg else None
    _measure(ctx, select, kiss_select, pg_select)

    ctx.client.request("POST", "/v1/sql/exec",
                       {"sql": "CREATE TABLE IF NOT EXISTS bench_ins(id INTEGER PRIMARY KEY, v TEXT)"})
    body = json.dumps({"sql": "INSERT INTO bench_ins(v) VALUES (?)", "params": [VALUE_100]})
    kiss_insert = lambda: ctx.wrk_kiss(env={"KB_METHOD": "POST", "KB_PATH": "/v1/sql/exec", "KB_BODY": body})
    pg_insert = _pgbench(ctx, pg, "pgbench-insert.sql",
                         [f"INSERT INTO bench_ins(v) VALUES ('{VALUE_100}');"]) if pg else None
    _measure(ctx, insert, kiss_insert, pg_insert)
    return [select, insert]
