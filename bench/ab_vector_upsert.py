"""A/B of vector upserts between two daemon builds, in interleaved pairs:
vectors/s, server CPU per vector, log bytes per vector and RSS, for N
Fashion-MNIST vectors (784-d, l2, the vector row's M and ef_construction)
upserted in batches of 1,000 over 2 connections into a fresh daemon.

  cd bench && python3 ab_vector_upsert.py AFTER_BINARY BEFORE_BINARY   (N=6000 by default)
"""
import json
import os
import shutil
import sys
import tempfile

from kbench import procs
from kbench.client import Client
from kbench.rows_vector import DIM, _batches, _unpacked, create_and_upsert

N = int(os.environ.get("N", "6000"))
TOKEN = "ab-token"


def run(label, binary, bodies):
    d = tempfile.mkdtemp(prefix="kissvdb-ab-")
    try:
        port = procs.free_port()
        p = procs.spawn([binary, "--port", str(port), "--data-dir", d + "/data", "--api-key", TOKEN,
                         "--max-vector-batch", "1000", "--max-body-bytes", str(64 << 20)], d + "/log")
        procs.wait_until(lambda: procs.http_ok(port, "/v1/health"), p, "kissvdb")
        c = Client(port, TOKEN)
        cpu0 = procs.cpu_seconds(p.pid)
        s = create_and_upsert(c, port, TOKEN, "ab", DIM, bodies, workers=2)
        cpu = procs.cpu_seconds(p.pid) - cpu0
        wal = json.loads(c.request("GET", "/v1/admin/stats")[1])["log"]["wal_bytes"]
        rss = procs.rss_bytes(p.pid)
        procs.stop(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print(f"{label}: {N / s:.0f} vectors/s, server CPU {cpu / N * 1e6:.0f} us/vector, "
          f"log {wal / N:.0f} B/vector, RSS {rss / 2**20:.0f} MiB", flush=True)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    bodies = _batches(_unpacked("train-images-idx3-ubyte.gz", "train.u8"), N)
    for _ in range(2):
        run("before", sys.argv[2], bodies)
        run("after", sys.argv[1], bodies)


if __name__ == "__main__":
    main()
