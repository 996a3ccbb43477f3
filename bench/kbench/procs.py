"""Servers under test: KissVDB and the peers (nginx, redis-server, etcd,
PostgreSQL).

Every process is started from the main thread with PR_SET_PDEATHSIG, kept
in one registry and stopped at exit (SIGTERM, then SIGKILL), so nothing
outlives the bench even if it is killed. Everything binds 127.0.0.1 on a
free port.
"""
import atexit
import ctypes
import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

_live = []


def _die_with_parent(sig=signal.SIGTERM):
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _as_user(user, death_signal=None):
    """A preexec_fn: drop to the user (a pwd entry, or None: stay), then
    get death_signal when the parent dies (a change of user clears
    PDEATHSIG)."""
    def run():
        if user is not None:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        if death_signal is not None:
            _die_with_parent(death_signal)
    return run


def spawn(argv, log_path, env=None, user=None, death_signal=signal.SIGTERM):
    """Starts argv in its own session, logging to log_path; as `user` (a
    pwd entry) if given; it gets death_signal if the bench dies."""
    log = open(log_path, "ab")
    pre = _as_user(user, death_signal)
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                         preexec_fn=pre, start_new_session=True)
    log.close()
    _live.append(p)
    return p


def stop(p, timeout=20.0):
    """SIGTERM, wait, SIGKILL. Returns the exit code."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in _live:
        _live.remove(p)
    return p.returncode


@atexit.register
def stop_all():
    for p in list(_live):
        stop(p, timeout=5.0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_bytes(pid, keys=("VmRSS", "VmHWM", "RssAnon", "RssFile")):
    """The memory figures `keys` of /proc/<pid>/status, in bytes (VmHWM:
    the peak RSS since the process started)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k = line.split(":")[0]
            if k in keys:
                out[k] = int(line.split()[1]) * 1024
    return out


def rss_bytes(pid):
    return status_bytes(pid, ("VmRSS",)).get("VmRSS", 0)


def cpu_seconds(pid):
    """User + system CPU of a process and its child processes (nginx's
    worker), live or already reaped (PostgreSQL's backends, which exit with
    their client), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if p == pid:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime: children it waited for
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def have(binary):
    return shutil.which(binary) is not None


def wait_until(ready, proc, what, timeout=60.0, step=0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(step)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s")


def http_ok(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        r.read()
        return r.status == 200
    finally:
        c.close()


class KissVDB:
    """One daemon on a data dir. start() returns the seconds to /v1/health."""

    def __init__(self, binary, data_dir, token, log_path, extra_args=()):
        self.binary, self.data_dir, self.token, self.log_path = binary, data_dir, token, log_path
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None

    def start(self):
        port_file = self.data_dir + ".port"
        if os.path.exists(port_file):
            os.remove(port_file)
        argv = [self.binary, "--port", "0", "--port-file", port_file, "--data-dir", self.data_dir,
                "--api-key", self.token, "--log-level", "warning"] + self.extra_args
        t0 = time.monotonic()
        self.proc = spawn(argv, self.log_path)

        def ready():
            if self.port is None:
                text = open(port_file).read().strip() if os.path.exists(port_file) else ""
                if not text:
                    return False
                self.port = int(text)
            return http_ok(self.port, "/v1/health")

        self.port = None
        wait_until(ready, self.proc, "kissvdb", timeout=600)
        return time.monotonic() - t0

    def stop(self):
        code = stop(self.proc, timeout=120)
        if code != 0:
            raise RuntimeError(f"kissvdb exited with code {code} (log: {self.log_path})")

    def rss(self):
        return rss_bytes(self.proc.pid)


class Nginx:
    """nginx with one worker serving files from <dir>/www."""

    def __init__(self, work_dir):
        self.dir = work_dir
        self.www = os.path.join(work_dir, "www")
        os.makedirs(self.www, exist_ok=True)
        os.makedirs(os.path.join(work_dir, "tmp"), exist_ok=True)
        self.port = free_port()
        conf = f"""
daemon off;
master_process on;
worker_processes 1;
pid {work_dir}/nginx.pid;
error_log {work_dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  server_tokens off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {work_dir}/tmp/body;
  proxy_temp_path {work_dir}/tmp/proxy;
  fastcgi_temp_path {work_dir}/tmp/fastcgi;
  uwsgi_temp_path {work_dir}/tmp/uwsgi;
  scgi_temp_path {work_dir}/tmp/scgi;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.www};
    location / {{ default_type application/json; }}
  }}
}}
"""
        self.conf = os.path.join(work_dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        # The worker may run as another user: let it reach and read the files.
        for d in (os.path.dirname(work_dir), work_dir, self.www):
            os.chmod(d, 0o755)
        self.proc = None

    def put_file(self, name, data):
        path = os.path.join(self.www, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)

    def start(self):
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = spawn([binary, "-p", self.dir, "-c", self.conf, "-e", self.dir + "/error.log"],
                          os.path.join(self.dir, "stdout.log"))
        wait_until(lambda: _port_open(self.port), self.proc, "nginx", timeout=30)

    def stop(self):
        stop(self.proc)


def _port_open(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def redis_ping(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64).startswith(b"+PONG")


def _resp(*args):
    parts = [a.encode() if isinstance(a, str) else a for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def redis_command(port, *args):
    """One command; returns the raw reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=600) as s:
        s.sendall(_resp(*args))
        return s.recv(4096)


def redis_set_many(port, keys, value):
    """SET every key to value, pipelined 10,000 at a time."""
    keys = iter(keys)
    with socket.create_connection(("127.0.0.1", port), timeout=600) as s:
        while True:
            chunk = [_resp("SET", k, value) for _, k in zip(range(10000), keys)]
            if not chunk:
                return
            s.sendall(b"".join(chunk))
            want, got = 5 * len(chunk), 0  # "+OK\r\n" each
            while got < want:
                data = s.recv(min(1 << 16, want - got))
                if not data:
                    raise RuntimeError("redis closed the connection")
                got += len(data)


class Redis:
    """redis-server: mode "memory" (no persistence) or "always" (AOF, fsync
    every write)."""

    def __init__(self, work_dir, mode):
        self.dir, self.mode = work_dir, mode
        os.makedirs(work_dir, exist_ok=True)
        self.port = free_port()
        self.proc = None

    def argv(self, extra=()):
        a = [shutil.which("redis-server") or "/usr/bin/redis-server", "--bind", "127.0.0.1", "--port",
             str(self.port), "--dir", self.dir, "--save", "", "--protected-mode", "no", "--daemonize", "no",
             "--logfile", os.path.join(self.dir, "redis.log")]
        if self.mode == "always":
            a += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            a += ["--appendonly", "no"]
        return a + list(extra)

    def start(self, extra=()):
        t0 = time.monotonic()
        self.proc = spawn(self.argv(extra), os.path.join(self.dir, "stdout.log"))
        wait_until(lambda: redis_ping(self.port), self.proc, "redis-server", timeout=600)
        return time.monotonic() - t0

    def stop(self):
        stop(self.proc)

    def rss(self):
        return rss_bytes(self.proc.pid)


class Etcd:
    """A single-member etcd; its JSON gateway serves /v3/kv/*."""

    def __init__(self, work_dir):
        self.dir = work_dir
        os.makedirs(work_dir, exist_ok=True)
        self.port, self.peer_port = free_port(), free_port()
        self.proc = None

    def start(self):
        client = f"http://127.0.0.1:{self.port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        argv = [shutil.which("etcd") or "/usr/bin/etcd", "--name", "kbench", "--data-dir",
                os.path.join(self.dir, "data"), "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster",
                f"kbench={peer}", "--log-level", "error", "--logger", "zap"]
        self.proc = spawn(argv, os.path.join(self.dir, "etcd.log"))
        wait_until(lambda: http_ok(self.port, "/health"), self.proc, "etcd", timeout=60)

    def stop(self):
        stop(self.proc)


PG_BIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    """A private PostgreSQL 15 cluster (initdb) in work_dir: 127.0.0.1 on a
    free port, its unix socket in work_dir, trust authentication for the
    superuser "postgres", every other setting (fsync, shared_buffers, ...)
    initdb's default; max_connections 100 (pgbench's 64 clients fit). Run
    as the "postgres" system user when the bench runs as root."""

    def __init__(self, work_dir):
        self.dir = work_dir
        self.data = os.path.join(work_dir, "data")
        os.makedirs(work_dir, exist_ok=True)
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")  # KeyError: no such user (the package creates it)
            os.chown(work_dir, self.user.pw_uid, self.user.pw_gid)
            for d in (os.path.dirname(work_dir),):
                os.chmod(d, os.stat(d).st_mode | 0o711)
        self.port = free_port()
        self.proc = None

    def _run(self, argv):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=self.dir,
                             preexec_fn=_as_user(self.user))
        if out.returncode != 0:
            raise RuntimeError(f"{os.path.basename(argv[0])} failed: {(out.stderr or out.stdout).strip()[:500]}")
        return out.stdout

    def start(self):
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", "--locale=C", "--no-instructions"])
        argv = [os.path.join(PG_BIN, "postgres"), "-D", self.data, "-p", str(self.port), "-c",
                "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}"]
        # SIGINT if the bench dies: a "fast" shutdown, which does not wait
        # for a client left behind (SIGTERM's "smart" one would).
        self.proc = spawn(argv, os.path.join(self.dir, "postgres.log"), user=self.user, death_signal=signal.SIGINT)
        wait_until(lambda: self._ready(), self.proc, "postgres", timeout=120, step=0.05)

    def _ready(self):
        return subprocess.run(self.client("pg_isready"), capture_output=True).returncode == 0

    def client(self, tool, *args):
        """argv of a client program (psql, pgbench, pg_isready) against this
        cluster over TCP."""
        return [os.path.join(PG_BIN, tool), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"] + list(args)

    def psql(self, sql, stdin=None):
        """Runs SQL (ON_ERROR_STOP) with psql; returns its stdout. stdin
        feeds COPY ... FROM STDIN."""
        out = subprocess.run(self.client("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "postgres",
                                         "-c", sql), input=stdin, capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr.strip()[:500]}")
        return out.stdout

    def stop(self):
        # SIGINT: "fast" shutdown (SIGTERM, "smart", would wait for clients).
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                pass
        stop(self.proc)

    def rss(self):
        return rss_bytes(self.proc.pid)
