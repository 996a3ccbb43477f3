"""A small keep-alive HTTP/JSON client for loading data and checking
answers (the measurements themselves use wrk)."""
import http.client
import json
import threading


class Client:
    def __init__(self, port, token=None, timeout=600):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = None

    def request(self, method, path, body=None, ok=(200,)):
        """Sends body (bytes, str or a JSON value); returns (status, bytes).
        Raises unless the status is in `ok` (None = any)."""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, separators=(",", ":"))
        if isinstance(body, str):
            body = body.encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if ok is not None and r.status not in ok:
            raise RuntimeError(f"{method} {path}: HTTP {r.status}: {data[:300]!r}")
        return r.status, data

    def json(self, method, path, body=None, ok=(200,)):
        return json.loads(self.request(method, path, body, ok)[1])

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def for_each(port, token, items, handle, workers=4):
    """Calls handle(client, item) for every item, over `workers` connections
    (one Client each, items taken in order); stops at and raises the first
    error."""
    errors = []
    lock = threading.Lock()
    it = iter(items)

    def work():
        c = Client(port, token)
        try:
            while not errors:
                with lock:
                    item = next(it, None)
                if item is None:
                    return
                handle(c, item)
        except Exception as e:  # noqa: BLE001 - re-raised below
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def parallel(port, token, bodies, method, path, workers=4):
    """Sends (path, body) items over `workers` connections; bodies is a list
    of (path or None, body). Raises the first error."""
    for_each(port, token, bodies, lambda c, item: c.request(method, item[0] or path, item[1]), workers)


def upsert_batches(port, token, name, bodies, workers=2):
    """POSTs each upsert_batch body to collection `name` over `workers`
    connections; raises unless every item was upserted."""
    def send(c, body):
        r = json.loads(c.request("POST", f"/v1/vector/{name}/upsert_batch", body)[1])
        bad = [x for x in r["results"] if x["status"] != "upserted"]
        if bad:
            raise RuntimeError(f"upsert_batch: {bad[0]}")

    for_each(port, token, bodies, send, workers)
