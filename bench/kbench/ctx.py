"""The run's shared state: parameters, the KissVDB daemon under test, the
peers (started on first use, stopped at the end) and progress output."""
import os
import secrets
import shutil
import sys
import time

from . import loadgen, procs
from .client import Client

VALUE_100 = "v" * 100  # every KV-like row writes 100-byte values

PARAMS = {
    # quick: a check that every row runs (the ctest); full: the published run
    "quick": dict(seconds=1, runs=1, keys=2000, mem_keys=20000, vec_base=2000, vec_queries=100,
                  vec_upsert=1000, sql_rows=2000, cas_keys=4, text_items=3000, text_queries=200,
                  text_seconds=3),
    "full": dict(seconds=10, runs=3, keys=100000, mem_keys=1000000, vec_base=60000, vec_queries=1000,
                 vec_upsert=10000, sql_rows=100000, cas_keys=16, text_items=0, text_queries=1000,
                 text_seconds=30),
}

# How each peer is found; a missing one makes its rows "not measured".
PEER_BINARIES = {"nginx": "nginx", "redis-memory": "redis-server", "redis-always": "redis-server",
                 "etcd": "etcd", "redis-benchmark": "redis-benchmark"}


def with_cpu(pid, run):
    """run() and the server's CPU per request over it ("cpu_us"): robust
    where throughput is not, on a machine shared with other work."""
    c0 = procs.cpu_seconds(pid)
    r = run()
    r["cpu_us"] = (procs.cpu_seconds(pid) - c0) * 1e6 / max(1, r["requests"])
    return r


class Ctx:
    def __init__(self, args):
        self.args = args
        self.mode = "quick" if args.quick else "full"
        self.p = dict(PARAMS[self.mode])
        if args.seconds:
            self.p["seconds"] = self.p["text_seconds"] = args.seconds
        if args.runs:
            self.p["runs"] = args.runs
        self.tmp = args.work_dir
        self.token = secrets.token_hex(16)
        self.kiss = None
        self.client = None
        self._peers = {}
        self.missing = {}
        self.started = time.monotonic()

    def say(self, msg):
        print(f"[bench {time.monotonic() - self.started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    # ---- KissVDB ----

    def kiss_args(self):
        # --max-json-bytes, --max-text-bytes: one package description of
        # the text rows' corpus (texlive-latex-extra) is 80 KB, past the
        # 64 KiB defaults for one item's meta and its indexed text.
        return ["--max-vector-batch", "1000", "--max-body-bytes", str(64 << 20), "--max-json-bytes", str(1 << 20),
                "--max-text-bytes", str(1 << 20)]

    def start_kiss(self):
        d = os.path.join(self.tmp, "kissvdb")
        self.kiss = procs.KissVDB(self.args.binary, d, self.token, d + ".log", self.kiss_args())
        self.kiss.start()
        self.client = Client(self.kiss.port, self.token)
        self.say(f"kissvdb on 127.0.0.1:{self.kiss.port} (data {d})")

    def kiss_url(self):
        return f"http://127.0.0.1:{self.kiss.port}"

    def wrk_kiss(self, script="http.lua", env=None, kiss=None, **kw):
        """wrk against the shared daemon, or `kiss` (a procs.KissVDB of a
        row's own, started with self.token)."""
        kiss = kiss or self.kiss
        e = {"KB_TOKEN": self.token}
        e.update(env or {})
        return with_cpu(kiss.proc.pid,
                        lambda: loadgen.wrk(f"http://127.0.0.1:{kiss.port}", script, self.p["seconds"], env=e, **kw))

    # ---- peers ----

    def peer(self, name):
        """The running peer `name`, started on first use; None if it cannot
        run here (the reason is in self.missing[name])."""
        if name in self._peers:
            return self._peers[name]
        if name in self.missing:
            return None
        binary = PEER_BINARIES.get(name)
        if binary and not procs.have(binary) and not os.path.exists("/usr/sbin/" + binary):
            return self._skip(name, f"{binary} is not installed (bench/setup_peers.sh installs it)")
        if name == "postgres" and not all(os.path.exists(os.path.join(procs.PG_BIN, b)) for b in
                                          ("initdb", "postgres", "pgbench", "psql")):
            return self._skip(name, f"PostgreSQL 15 is not installed in {procs.PG_BIN} (package postgresql-15; "
                                    f"bench/setup_peers.sh installs it)")
        if name.startswith("redis") and not procs.have("redis-benchmark"):
            return self._skip(name, "redis-benchmark is not installed (package redis-tools)")
        try:
            d = os.path.join(self.tmp, name)
            if name == "nginx":
                p = procs.Nginx(d)
            elif name == "redis-memory":
                p = procs.Redis(d, "memory")
            elif name == "redis-always":
                p = procs.Redis(d, "always")
            elif name == "etcd":
                p = procs.Etcd(d)
            elif name == "postgres":
                p = procs.Postgres(d)
            else:
                raise ValueError(name)
            p.start()
        except Exception as e:  # noqa: BLE001 - a peer that fails is reported, not fatal
            return self._skip(name, f"{name} failed to start: {e}")
        self._peers[name] = p
        self.say(f"{name} on 127.0.0.1:{p.port}")
        return p

    def _skip(self, name, why):
        self.missing[name] = why
        self.say(f"SKIP {name}: {why}")
        return None

    def stop_peer(self, name):
        p = self._peers.pop(name, None)
        if p is not None:
            p.stop()

    def stop_all(self):
        for name in list(self._peers):
            self.stop_peer(name)
        if self.kiss is not None:
            self.client.close()
            self.kiss.stop()
            self.kiss = None

    def redis_bench(self, name):
        p = self.peer(name)
        if p is None:
            return None
        return loadgen.RedisBench(p.port, self.p["seconds"], pid=p.proc.pid)

    def wrk_peer(self, peer, script="http.lua", env=None, send_token=True, **kw):
        """wrk against a running peer; the bearer header too unless
        send_token is False (etcd reads it as its own auth token)."""
        e = {"KB_TOKEN": self.token if send_token else ""}
        e.update(env or {})
        return with_cpu(peer.proc.pid, lambda: loadgen.wrk(f"http://127.0.0.1:{peer.port}", script,
                                                           self.p["seconds"], env=e, **kw))

    def cleanup_dir(self, path):
        shutil.rmtree(path, ignore_errors=True)
