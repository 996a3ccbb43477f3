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


def parallel(port, token, bodies, method, path, workers=4):
    """Sends (path, body) items over `workers` connections; bodies is a list
    of (path or None, body). Raises the first error."""
    errors = []
    lock = threading.Lock()
    it = iter(bodies)

    def work():
        c = Client(port, token)
        try:
            while True:
                with lock:
                    item = next(it, None)
                if item is None or errors:
                    return
                p, b = item
                c.request(method, p or path, b)
        except Exception as e:  # noqa: BLE001 - reported by the caller
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
