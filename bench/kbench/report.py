"""The result table: rows, ratios, targets, and docs/BENCHMARKS.md."""
import dataclasses
import os
import platform
import re
import subprocess
import time


@dataclasses.dataclass
class Row:
    name: str
    unit: str                      # of both figures, e.g. "req/s", "s", "MiB"
    kiss: float = None             # KissVDB's figure (median)
    peer_name: str = ""
    peer: float = None             # the peer's figure (median)
    higher_better: bool = True
    min_ratio: float = None        # target: kiss/peer >= min_ratio
    max_abs: float = None          # target: kiss < max_abs (absolute, e.g. SSE lag)
    note: str = ""
    skipped: str = ""              # why a side was not measured
    pairs: list = None             # KissVDB/peer of each interleaved pair (runs A B, A B, ...)

    def record_pairs(self, a, b):
        """Keeps the ratio of each interleaved pair of runs: the machine's
        drift moves both runs of a pair alike, so their spread shows how far
        the median ratio can be trusted."""
        if a and b and len(a["samples"]) == len(b["samples"]):
            self.pairs = [x / y if y else None for x, y in zip(a["samples"], b["samples"])]

    @property
    def ratio(self):
        if self.kiss is None or self.peer is None or self.peer == 0:
            return None
        return self.kiss / self.peer

    @property
    def target(self):
        if self.min_ratio is not None:
            return f"≥ {self.min_ratio:g}×"
        if self.max_abs is not None:
            return f"< {self.max_abs:g} {self.unit}"
        return ""

    @property
    def met(self):
        if self.min_ratio is not None:
            return None if self.ratio is None else self.ratio >= self.min_ratio
        if self.max_abs is not None:
            return None if self.kiss is None else self.kiss < self.max_abs
        return None


def fmt(v, unit=""):
    if v is None:
        return "—"
    if unit in ("s", "ms"):
        text = f"{v:.3g}" if v < 100 else f"{v:,.0f}"
    elif v >= 100:
        text = f"{v:,.0f}"
    else:
        text = f"{v:.3g}"
    return f"{text} {unit}".strip()


def render_table(rows):
    out = ["| row | KissVDB | peer | peer figure | KissVDB/peer | better | target | met |",
           "|---|---:|---|---:|---:|:-:|---|:-:|"]
    for r in rows:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        met = {True: "✅ yes", False: "❌ no", None: "—"}[r.met]
        if r.skipped and r.met is None:
            met = "not measured" if r.target else "—"
        better = "↑" if r.higher_better else "↓"
        out.append(f"| {r.name} | {fmt(r.kiss, r.unit)} | {r.peer_name or '—'} | {fmt(r.peer, r.unit)} | "
                   f"{ratio} | {better} | {r.target or '—'} | {met} |")
    return "\n".join(out)


def render_notes(rows):
    lines = []
    for r in rows:
        pairs = r.pairs and "KissVDB/peer per interleaved pair " + ", ".join(
            "—" if x is None else f"{x:.2f}×" for x in r.pairs)
        bits = [b for b in (r.note, pairs, r.skipped and f"not measured: {r.skipped}") if b]
        if bits:
            lines.append(f"- **{r.name}**: " + "; ".join(bits))
    return "\n".join(lines)


def _cmd_version(argv, pattern=r"(\d+\.\d+(\.\d+)?)"):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        m = re.search(pattern, out.stdout + out.stderr)
        return m.group(1) if m else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def _dpkg_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "not installed"
    except OSError:
        return "?"


def machine_info(kissvdb_binary):
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    debian = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    fs = subprocess.run(["df", "-T", "/tmp"], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    versions = {
        "kissvdb": _cmd_version([kissvdb_binary, "--version"], r"kissvdb (\S+)"),
        "nginx-light": _dpkg_version("nginx-light"),
        "redis-server": _dpkg_version("redis-server"),
        "etcd-server": _dpkg_version("etcd-server"),
        "wrk": _dpkg_version("wrk"),
        "hnswlib (in-process baseline)": "0.8.0 headers (third_party/hnswlib, the ones KissVDB links)",
        "libsqlite3": _dpkg_version("libsqlite3-0"),
        "dataset-fashion-mnist": _dpkg_version("dataset-fashion-mnist"),
        "postgresql-15": _dpkg_version("postgresql-15"),
        "python3-sklearn": _dpkg_version("python3-sklearn"),
    }
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{mem_gib:.1f} GiB",
        "os": f"Debian {debian}, Linux {platform.release()}",
        "disk": f"{fs} (data dirs under /tmp)",
        "versions": versions,
    }


def render_machine(info):
    lines = [f"- date: {info['date']}", f"- CPU: {info['cpu']}", f"- memory: {info['memory']}",
             f"- OS: {info['os']}", f"- disk: {info['disk']}"]
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    return "\n".join(lines)
