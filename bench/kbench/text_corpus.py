"""The text-search corpus: Debian's English package descriptions
(Translation-en, fetched by `apt-get update -o Acquire::Languages=en`, read
with `apt-helper cat-file`, which decompresses).

Each package is one item: its long description is the indexed text; its
short description (the summary line) is held back and becomes the query
whose one relevant item is that package (a known-item task). Packages whose
long description repeats another's (a library and its -dev, -doc, ...
siblings often share one) are dropped, the first by name kept, as are
empty long descriptions. Each item and each query gets a dense vector by
LSA: TF-IDF over the long descriptions, truncated SVD to DIM dimensions,
L2-normalised (Debian's python3-sklearn); a query's vector is its short
description projected through the same TF-IDF + SVD. The exact dense answer
of each query (brute-force cosine) is kept as the vector leg's reference.

The prepared corpus is cached in one file keyed by the hash of the input
files and of the parameters below, so only the first run pays for the SVD.
Building it needs numpy/scipy/sklearn and runs in its own process
(`python3 -m kbench.text_corpus`); reading it needs only the standard
library.

Cache file: one JSON line (header + items + query item indexes), then
float32 vectors, items first, then queries, DIM floats each (little endian).
"""
import argparse
import array
import glob
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time

LISTS = "/var/lib/apt/lists"
APT_HELPER = "/usr/lib/apt/apt-helper"
DIM = 256
FORMAT = 3  # bump when the preparation changes: it is part of the cache key
SEED = 20
MAX_QUERIES = 10000  # kept (a random sample of the summaries); a run uses the first few thousand
EXACT_QUERIES = 2000  # with their exact dense top 10 (a full run uses 1,000)


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "kissvdb", "bench", "debian-descriptions")
    os.makedirs(d, exist_ok=True)
    return d


def translation_files():
    """The Translation-en index files apt fetched (main first, then
    -updates and -security), or [] if `apt-get update -o
    Acquire::Languages=en` has not run."""
    files = sorted(glob.glob(os.path.join(LISTS, "*_i18n_Translation-en*")))
    files = [f for f in files if not f.endswith(".diff_Index")]
    main = [f for f in files if "-updates_" not in f and "-security_" not in f]
    return main + [f for f in files if f not in main]


def _read(path):
    out = subprocess.run([APT_HELPER, "cat-file", path], capture_output=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"apt-helper cat-file {path}: {out.stderr.decode(errors='replace').strip()}")
    return out.stdout.decode("utf-8", errors="replace")


def parse(text):
    """Yields (package, short, long) from a Translation file. The long
    description's " ." lines are paragraph breaks."""
    for stanza in text.split("\n\n"):
        pkg, short, lines, in_desc = None, None, [], False
        for line in stanza.split("\n"):
            if line.startswith("Package:"):
                pkg, in_desc = line[8:].strip(), False
            elif line.startswith("Description-en:"):
                short, in_desc = line[15:].strip(), True
            elif in_desc and line.startswith(" "):
                body = line[1:]
                lines.append("" if body.strip() == "." else body.strip())
            else:
                in_desc = False
        if pkg and short is not None:
            yield pkg, short, " ".join(" ".join(lines).split())


def words(text):
    """The words of a text as SQLite's unicode61 tokenizer splits them
    (letters and digits; everything else separates), lower-cased: the OR
    queries the peers run."""
    return re.findall(r"[^\W_]+", text.lower())


def cache_key(files, max_items):
    h = hashlib.sha256(f"format={FORMAT} dim={DIM} seed={SEED} max_items={max_items}\n".encode())
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def cache_path(files, max_items):
    size = max_items or "all"
    return os.path.join(cache_dir(), f"corpus-{size}-{cache_key(files, max_items)}.bin")


def prepare(files, max_items, out_path, log=print):
    """Builds the corpus into out_path (see the module doc)."""
    import numpy as np  # Debian's python3-sklearn brings numpy and scipy
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    t0 = time.monotonic()
    seen_pkg, seen_long = set(), set()
    items, stats = [], {"packages": 0, "duplicate_package": 0, "duplicate_long": 0, "empty_long": 0}
    for f in files:
        for pkg, short, long in parse(_read(f)):
            stats["packages"] += 1
            if pkg in seen_pkg:  # -updates / -security repeat main's packages
                stats["duplicate_package"] += 1
                continue
            seen_pkg.add(pkg)
            if not long:
                stats["empty_long"] += 1
                continue
            if long in seen_long:
                stats["duplicate_long"] += 1
                continue
            seen_long.add(long)
            items.append((pkg, short, long))
    items.sort()
    stats["unique_items"] = len(items)
    if max_items and len(items) > max_items:  # the quick corpus: an even sample
        step = len(items) / max_items
        items = [items[int(i * step)] for i in range(max_items)]
    t_parse = time.monotonic() - t0
    log(f"text corpus: {stats['packages']} descriptions read, {stats['duplicate_package']} repeated packages, "
        f"{stats['empty_long']} empty, {stats['duplicate_long']} repeated long descriptions dropped; "
        f"{len(items)} items ({t_parse:.1f} s)")

    t1 = time.monotonic()
    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2, max_df=0.5, dtype=np.float32)
    x = tfidf.fit_transform([it[2] for it in items])
    svd = TruncatedSVD(n_components=DIM, algorithm="randomized", n_iter=5, random_state=SEED)
    iv = normalize(svd.fit_transform(x)).astype(np.float32)
    qx = tfidf.transform([it[1] for it in items])
    qv = normalize(svd.transform(qx)).astype(np.float32)
    t_lsa = time.monotonic() - t1
    # A vector of zeros has no direction (cosine rejects it): an item or a
    # summary none of whose words survive TF-IDF (all stop words or words
    # of one description) has none. Such items stay (text finds them) but
    # are never queries, and get a tiny constant vector.
    item_zero = np.where(~iv.any(axis=1))[0]
    iv[item_zero] = np.float32(1.0 / np.sqrt(DIM))
    q_ok = np.where(qv.any(axis=1) & np.array([bool(words(it[1])) for it in items]))[0]
    order = list(map(int, q_ok))
    random.Random(SEED).shuffle(order)  # queries in a random order: the first N are a sample
    order = order[:MAX_QUERIES]
    # The exact dense answer (brute-force cosine over the unit vectors) of
    # the first EXACT_QUERIES queries: the rank of each query's package in
    # its top 10 (0: absent), the reference for the vector-only leg's HNSW
    # search.
    t2 = time.monotonic()
    exact = []
    for lo in range(0, min(len(order), EXACT_QUERIES), 500):
        sims = qv[order[lo:lo + 500]] @ iv.T
        top = np.argpartition(-sims, 10, axis=1)[:, :10]
        for r, j in enumerate(order[lo:lo + 500]):
            best = top[r][np.argsort(-sims[r, top[r]], kind="stable")]
            hit = np.where(best == j)[0]
            exact.append(int(hit[0]) + 1 if len(hit) else 0)
    t_exact = time.monotonic() - t2
    stats.update(items=len(items), vocabulary=len(tfidf.vocabulary_), dim=DIM,
                 explained_variance=float(svd.explained_variance_ratio_.sum()), items_zero_vector=len(item_zero),
                 queries=len(order), queries_dropped_zero_vector=len(items) - len(q_ok),
                 parse_seconds=round(t_parse, 2), lsa_seconds=round(t_lsa, 2), exact_seconds=round(t_exact, 2))
    log(f"text corpus: LSA (TF-IDF {x.shape[1]} terms, SVD to {DIM}, explained variance "
        f"{stats['explained_variance']:.3f}) in {t_lsa:.1f} s; {len(order)} queries kept "
        f"({stats['queries_dropped_zero_vector']} summaries with no LSA vector dropped); their exact dense top 10 "
        f"in {t_exact:.1f} s")
    header = {"format": FORMAT, "dim": DIM, "stats": stats, "sources": [os.path.basename(f) for f in files],
              "items": [{"name": p, "short": s, "long": l} for p, s, l in items], "queries": order,
              "exact_vector_rank": exact}
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
        f.write(iv.astype("<f4").tobytes())
        f.write(qv[order].astype("<f4").tobytes())
    os.replace(tmp, out_path)


class Corpus:
    """A prepared corpus, read back with the standard library only.
    items[i] = {"name", "short", "long"}; vector(i) is item i's; queries[j]
    is the item index query j is the summary of, qvector(j) its vector,
    exact_vector_rank[j] (j < EXACT_QUERIES) the rank (1-10, 0: not in the
    top 10) of that item in the exact cosine top 10 of qvector(j)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            header = json.loads(f.readline())
            data = array.array("f")
            data.frombytes(f.read())
        if sys.byteorder != "little":
            data.byteswap()
        self.dim, self.stats = header["dim"], header["stats"]
        self.items, self.queries = header["items"], header["queries"]
        self.sources, self.path = header["sources"], path
        self.exact_vector_rank = header["exact_vector_rank"]
        n, d = len(self.items), self.dim
        if len(data) != (n + len(self.queries)) * d:
            raise RuntimeError(f"{path}: {len(data)} floats, expected {(n + len(self.queries)) * d}")
        self._data, self._q0 = data, n * d

    def vector(self, i):
        return self._data[i * self.dim:(i + 1) * self.dim]

    def qvector(self, j):
        return self._data[self._q0 + j * self.dim:self._q0 + (j + 1) * self.dim]


def load(max_items, log=print):
    """The corpus of at most max_items items (0: all), prepared on first
    use. Raises RuntimeError with what is missing if it cannot be built."""
    files = translation_files()
    if not files:
        raise RuntimeError("no Translation-en index under /var/lib/apt/lists (run `apt-get update -o "
                           "Acquire::Languages=en`; bench/setup_peers.sh does)")
    path = cache_path(files, max_items)
    if not os.path.exists(path):
        log(f"text corpus: preparing {path} (TF-IDF + SVD with python3-sklearn)")
        out = subprocess.run(["/usr/bin/python3", "-m", "kbench.text_corpus", "--max-items", str(max_items),
                              "--out", path], cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             stdout=sys.stderr, stderr=subprocess.PIPE, text=True, timeout=3600)
        if out.returncode != 0:
            err = out.stderr.strip().splitlines()
            raise RuntimeError("preparing the text corpus failed: " + (err[-1] if err else f"code {out.returncode}")
                               + (" (needs python3-sklearn)" if "No module named" in out.stderr else ""))
    return Corpus(path)


def main():
    ap = argparse.ArgumentParser(prog="python3 -m kbench.text_corpus")
    ap.add_argument("--max-items", type=int, default=0, help="an even sample of this many items (0: all)")
    ap.add_argument("--out", default="", help="default: the cache file for these inputs")
    args = ap.parse_args()
    files = translation_files()
    if not files:
        sys.exit("no Translation-en index under /var/lib/apt/lists")
    out = args.out or cache_path(files, args.max_items)
    prepare(files, args.max_items, out, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(out)


if __name__ == "__main__":
    main()
