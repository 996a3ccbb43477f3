"""Load generators: wrk (with bench/lua scripts) and redis-benchmark, and
the A/B interleaving that every comparison uses."""
import csv
import io
import json
import os
import statistics
import subprocess

from . import procs

LUA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lua")


class LoadError(RuntimeError):
    pass


def wrk(url, script, seconds, connections=64, threads=2, env=None, timeout_s=10):
    """Runs wrk; returns {"rate": requests/s, "p50_us", "p99_us", ...}.
    Fails if any request had a socket error or a status >= 400."""
    e = dict(os.environ)
    e["KB_LUA_DIR"] = LUA_DIR
    e.update({k: str(v) for k, v in (env or {}).items()})
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout",
            f"{timeout_s}s", "-s", os.path.join(LUA_DIR, script), url]
    out = subprocess.run(argv, env=e, capture_output=True, text=True, timeout=seconds + 120)
    line = next((l for l in out.stdout.splitlines() if l.startswith("KBENCH ")), None)
    if out.returncode != 0 or line is None:
        raise LoadError(f"wrk failed ({out.returncode}): {out.stderr.strip()[:500]} {out.stdout[-500:]}")
    r = json.loads(line[len("KBENCH "):])
    if r["requests"] == 0:
        raise LoadError(f"wrk made no request against {url}")
    if r["errors"] or r["non2xx"]:
        raise LoadError(f"wrk against {url}: {r['errors']} socket errors, {r['non2xx']} responses >= 400 "
                        f"of {r['requests']}")
    r["rate"] = r["requests"] / r["seconds"]
    return r


class RedisBench:
    """redis-benchmark with -n sized from the last measured rate, so that a
    run lasts about `seconds` (redis-benchmark has no duration flag)."""

    def __init__(self, port, seconds, connections=64, pid=None):
        self.port, self.seconds, self.connections, self.pid = port, seconds, connections, pid
        self.rate = None

    def run(self, command, keyspace=100000):
        n = 5000 if self.rate is None else max(2000, int(self.rate * self.seconds))
        if self.rate is None:
            self._once(command, n, keyspace)  # warm-up and first estimate
            n = max(2000, int(self.rate * self.seconds))
        return self._once(command, n, keyspace)

    def _once(self, command, n, keyspace):
        argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(self.port), "-c", str(self.connections), "-n",
                str(n), "-r", str(keyspace), "--csv"] + command
        c0 = procs.cpu_seconds(self.pid) if self.pid else 0
        out = subprocess.run(argv, capture_output=True, text=True, timeout=self.seconds * 10 + 120)
        cpu_us = (procs.cpu_seconds(self.pid) - c0) * 1e6 / n if self.pid else None
        rows = [r for r in csv.reader(io.StringIO(out.stdout)) if r and r[0] != "test"]
        if out.returncode != 0 or not rows:
            raise LoadError(f"redis-benchmark failed ({out.returncode}): {out.stderr.strip()[:300]}")
        # test,rps,avg,min,p50,p95,p99,max: read from the end, as the test
        # name (the command) is not CSV-escaped.
        row = rows[-1]
        self.rate = float(row[-7])
        r = {"rate": self.rate, "p50_us": float(row[-4]) * 1000, "p99_us": float(row[-2]) * 1000, "requests": n}
        if cpu_us is not None:
            r["cpu_us"] = cpu_us
        return r


def interleave(runs, *sides):
    """Runs the sides alternately `runs` times (A B A B ...; a side may be
    None, not run); returns the median result of each side."""
    samples = [[] for _ in sides]
    for _ in range(runs):
        for i, fn in enumerate(sides):
            if fn is not None:
                samples[i].append(fn())
    return [median_result(s) for s in samples]


def median_result(samples):
    if not samples:
        return None
    rates = sorted(s["rate"] for s in samples)
    med = statistics.median(rates)
    best = min(samples, key=lambda s: abs(s["rate"] - med))
    out = dict(best)
    out["rate"] = med
    out["samples"] = [float(f"{s['rate']:.4g}") for s in samples]
    return out
