"""SSE fan-out lag with 1,000 subscribers: runs bench/sse_fanout (written
with the stream work; it starts its own daemon) and reads its p99."""
import os
import re
import statistics
import subprocess

from .report import Row


def sse_rows(ctx):
    row = Row("SSE fan-out lag p99 (1,000 subscribers)", "ms", peer_name="", higher_better=False, max_abs=50)
    binary = ctx.args.sse_fanout
    if not binary or not os.path.exists(binary):
        row.skipped = f"{binary or 'bench/sse_fanout'} is not built"
        return [row]
    seconds = ctx.p["seconds"]
    rate = 1000 if ctx.mode == "quick" else 10000
    p99s, p50s, lines = [], [], []
    for _ in range(ctx.p["runs"]):
        argv = [binary, "--server", ctx.args.binary, "--subscribers", "1000", "--seconds", str(seconds),
                "--rate", str(rate), "--drain-secs", "15"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 300)
        m = re.search(r"delivery lag.*?p50 ([\d.]+) ms.*?p99 ([\d.]+) ms", out.stdout)
        if out.returncode != 0 or not m:
            why = [l for l in out.stdout.splitlines() if l.startswith(("lost", "undelivered"))]
            row.skipped = (f"sse_fanout failed ({out.returncode}): "
                           + ("; ".join(why) if why else (out.stdout + out.stderr).strip()[-300:]))
            return [row]
        p50s.append(float(m.group(1)))
        p99s.append(float(m.group(2)))
        lines = [l for l in out.stdout.splitlines() if l.startswith(("writes:", "delivered:", "lost", "gap", "undelivered"))]
    row.kiss = statistics.median(p99s)
    row.note = (f"bench/sse_fanout: {rate:,} durable puts/s for {seconds} s, every event to 1,000 subscribers; lag = "
                f"writer send to subscriber receive; p99 runs {p99s}, p50 median {statistics.median(p50s)} ms; "
                + "; ".join(lines))
    ctx.say(f"SSE: p99 {row.kiss} ms")
    return [row]
