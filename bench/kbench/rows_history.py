"""The history rows (issue 25): reads of the past against reads of the
present, durable PUT with history on against history off, and the disk
each retained version takes.

Two daemons of the row's own, same flags as the shared one: "on" with the
default history_retention (`log`: every version the log keeps) and "off"
(`--history-retention off`: no versions written). Both get the same load:
`keys` keys written `versions` times each, one round after the other
(round r puts every key once, 100-byte values, POST /v1/state/batch_put
of 256), so after round 1 every key exists and each later offset is some
key's version.

- GET ?at=: on "on", a random key at a random offset between the end of
  round 1 and the last offset, against the present GET of a random key,
  same server, same keys, same wrk script (bench/lua/history.lua),
  interleaved. A sample of at= answers is checked against the key's
  /history before the runs.
  "off" must answer at= with 410.
- PUT durable: the same random-key PUTs (100-byte values, over the loaded
  keys) against "on" and "off", interleaved; the note gives each side's
  events per fsync group (GET /v1/admin/stats, commit_batches).
- Disk per retained version: GET /v1/admin/stats `history` {bytes,
  versions} when the build reports it; else the allocated bytes of
  state.lmdb on "on" minus "off" after the same load, over the versions
  loaded (LMDB without MDB_WRITEMAP grows its file to the highest page in
  use, so allocated bytes = size = pages used, free pages included).
"""
import json
import os
import random
import subprocess
import threading
import time

from . import procs
from .client import Client, for_each
from .report import Row
from .rows_kv import _measure

SIZES = {"quick": dict(keys=10000, versions=10, checks=20),
         "full": dict(keys=100000, versions=10, checks=200)}
BATCH = 256  # batch_put's maximum
PREFIX = "h:"


def _value(round_):
    """A 100-byte value that says which round wrote it."""
    head = f"r{round_}-"
    return head + "v" * (100 - len(head))


def _has_retention_flag(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    return "--history-retention" in out.stdout + out.stderr


def _stats(client):
    return client.json("GET", "/v1/admin/stats")


def _load(kiss, token, n, versions, after_round, errors):
    """Writes every key `versions` times, round after round, over 4
    connections; after_round[r] = the last offset once round r is in."""
    try:
        c = Client(kiss.port, token)
        for r in range(1, versions + 1):
            value = _value(r)
            batches = [{"operations": [{"key": f"{PREFIX}{i}", "value": value} for i in range(s, min(n, s + BATCH))]}
                       for s in range(0, n, BATCH)]

            def send(cl, body):
                res = json.loads(cl.request("POST", "/v1/state/batch_put", body)[1])["results"]
                bad = [x for x in res if x.get("status", "ok") != "ok"]
                if bad:
                    raise RuntimeError(f"batch_put: {bad[0]}")

            for_each(kiss.port, token, batches, send, workers=4)
            after_round[r] = _stats(c)["log"]["last_offset"]
        c.close()
    except Exception as e:  # noqa: BLE001 - re-raised by the caller
        errors.append(e)


def _allocated(path):
    st = os.stat(path)
    return st.st_blocks * 512, st.st_size


def _check_at_reads(client, n, lo, hi, samples, rng):
    """Random (key, at) pairs: the at= answer must be the key's newest
    version at or before `at` according to its /history."""
    for _ in range(samples):
        key = f"{PREFIX}{rng.randrange(n)}"
        at = rng.randint(lo, hi)
        hist = client.json("GET", f"/v1/state/{key}/history?limit=1000")["versions"]
        want = next((v for v in hist if v["offset"] <= at), None)
        status, body = client.request("GET", f"/v1/state/{key}?at={at}", ok=None)
        if want is None or want["deleted"]:
            if status != 404:
                raise RuntimeError(f"GET {key}?at={at}: {status}, expected 404")
            continue
        if status != 200 or json.loads(body)["value"] != want["value"]:
            raise RuntimeError(f"GET {key}?at={at}: {status} {body[:120]!r}, expected {want['value'][:8]}…")
        now = client.json("GET", f"/v1/state/{key}")["value"]
        if now != hist[0]["value"]:
            raise RuntimeError(f"GET {key}: {now[:8]}…, /history's newest is {hist[0]['value'][:8]}…")


def _counting(ctx, kiss, env, acc):
    """A wrk PUT run against `kiss` that adds the commit groups and events
    it caused (GET /v1/admin/stats) to acc."""
    def run():
        c = Client(kiss.port, ctx.token)
        s0 = _stats(c)["log"]
        r = ctx.wrk_kiss(env=env, kiss=kiss)
        s1 = _stats(c)["log"]
        c.close()
        acc[0] += s1["commit_batches"] - s0["commit_batches"]
        acc[1] += s1["committed_events"] - s0["committed_events"]
        return r
    return run


def history_rows(ctx):
    size = SIZES[ctx.mode]
    n, versions = size["keys"], size["versions"]
    token = ctx.token
    r_at = Row("history: GET ?at= random retained offset", "req/s",
               peer_name="present GET, same server, same keys", min_ratio=0.8)
    r_put = Row("history: KV PUT durable, history on", "req/s", peer_name="the same PUTs, history_retention off",
                min_ratio=0.9)
    r_disk = Row("history: disk per retained version", "B", higher_better=False,
                 note="context only: 100-byte values")
    rows = [r_at, r_put, r_disk]
    have_off = _has_retention_flag(ctx.args.binary)
    if not have_off:
        why = "this kissvdb has no --history-retention (history cannot be turned off)"
        r_put.skipped = why
        ctx.say(f"SKIP history off: {why}")

    servers = {}
    try:
        for name, extra in (("on", []), ("off", ["--history-retention", "off"])):
            if name == "off" and not have_off:
                continue
            d = os.path.join(ctx.tmp, f"history-{name}")
            k = procs.KissVDB(ctx.args.binary, d, token, d + ".log", ctx.kiss_args() + extra)
            k.start()
            servers[name] = k
            ctx.say(f"history {name}: kissvdb on 127.0.0.1:{k.port}")

        # Both loads at once: each is bound by its own commit loop's fsyncs.
        ctx.say(f"history: loading {n} keys x {versions} versions into {len(servers)} server(s)")
        t0 = time.monotonic()
        marks = {name: {} for name in servers}
        errors = []
        threads = [threading.Thread(target=_load, args=(k, token, n, versions, marks[name], errors))
                   for name, k in servers.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        load_s = time.monotonic() - t0
        on = servers["on"]
        client = Client(on.port, token)
        stats = _stats(client)
        hist = stats.get("history") or {}
        # After round 1 every key exists; at or above the horizon (where
        # the build reports one) every offset is retained.
        lo, hi = max(marks["on"][1] + 1, hist.get("horizon") or 0), marks["on"][versions]
        loaded = n * versions
        ctx.say(f"history: loaded in {load_s:.1f} s; at= range [{lo}, {hi}]")

        # ---- disk per retained version (before any PUT run) ----
        alloc_on, size_on = _allocated(os.path.join(on.data_dir, "state.lmdb"))
        wal_per_event = stats["log"]["wal_bytes"] / max(1, stats["log"]["last_offset"])
        if hist.get("bytes") is not None and hist.get("versions"):
            r_disk.kiss = hist["bytes"] / hist["versions"]
            r_disk.note += (f"; GET /v1/admin/stats history (LMDB pages of the history tables, retention "
                            f"{hist.get('retention', '?')}): {hist['bytes']:,} bytes for {hist['versions']:,} "
                            f"versions after {n:,} keys x {versions} puts")
        if "off" in servers:
            alloc_off, size_off = _allocated(os.path.join(servers["off"].data_dir, "state.lmdb"))
            per = (alloc_on - alloc_off) / loaded
            if r_disk.kiss is None:
                r_disk.kiss = per
            r_disk.note += (f"; state.lmdb allocated bytes, history on minus off after the same {n:,} keys x "
                            f"{versions} puts: ({alloc_on:,} - {alloc_off:,}) / {loaded:,} versions = {per:.0f} B "
                            f"(file sizes {size_on:,} / {size_off:,})")
        elif r_disk.kiss is None:
            r_disk.skipped = "no history section in /v1/admin/stats and no history-off server to compare with"
        r_disk.note += f"; the log, the same either way: {wal_per_event:.0f} B per event"
        ctx.say(f"history: disk per version {r_disk.kiss} B (state.lmdb on {alloc_on:,} B)")

        # ---- GET ?at= against the present GET ----
        _check_at_reads(client, n, lo, hi, size["checks"], random.Random(25))
        if "off" in servers:
            c_off = Client(servers["off"].port, token)
            status, _ = c_off.request("GET", f"/v1/state/{PREFIX}1?at={hi}", ok=None)
            c_off.close()
            if status != 410:
                raise RuntimeError(f"history off: GET ?at= answered {status}, expected 410")
        r_at.note = (f"{n:,} keys x {versions} versions (100-byte values), random key, at= uniform over the "
                     f"offsets after the first round [{lo:,}, {hi:,}]; {size['checks']} at= answers checked against "
                     f"/history first; load {loaded:,} puts in {load_s:.1f} s")
        env = {"KB_KEYPREFIX": PREFIX, "KB_N": n}
        at_fn = lambda: ctx.wrk_kiss("history.lua", dict(env, KB_AT_LO=lo, KB_AT_HI=hi), kiss=on)
        now_fn = lambda: ctx.wrk_kiss("history.lua", env, kiss=on)
        _measure(ctx, r_at, at_fn, now_fn)
        client.close()

        # ---- durable PUT, history on against off ----
        body = json.dumps({"value": "v" * 100})
        put_env = {"KB_METHOD": "PUT", "KB_PATH": f"/v1/state/{PREFIX}{{i}}", "KB_BODY": body, "KB_N": n}
        r_put.note = (f"100-byte values, random key of the {n:,} loaded (each with {versions} versions), "
                      f"durability always; both servers loaded alike")
        if "off" in servers:
            groups = {"on": [0, 0], "off": [0, 0]}  # fsync groups, events: the commit loop's batching
            put_on, put_off = (_counting(ctx, servers[x], put_env, groups[x]) for x in ("on", "off"))
            _measure(ctx, r_put, put_on, put_off)
            r_put.note += "; events per fsync group " + ", ".join(
                f"{x} {g[1] / max(1, g[0]):.1f}" for x, g in groups.items())
    finally:
        for name, k in servers.items():
            try:
                k.stop()
            except Exception as e:  # noqa: BLE001 - the rows are measured; report and go on
                ctx.say(f"history {name}: {e}")
            ctx.cleanup_dir(k.data_dir)
    return rows
