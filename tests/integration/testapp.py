"""A small HTTP application for the HTTP collector's tests: an API with
/healthz and a Prometheus /metrics page whose numbers and behaviour the
test sets, over HTTP or HTTPS, on 127.0.0.1 and a free port.

    app = TestApp()                  # or TestApp(cert=..., key=...) for TLS
    app.control(requests={"200": 10, "500": 2}, health_status=500)
    ... app.url + "/metrics" ...
    app.stop()

The same settings can be posted as JSON to /control (GET /control shows
the state and the last request seen on each path, query included), and the module runs on
its own (`python3 testapp.py [--port N] [--cert F --key F]`) for manual
tests and benchmarks.

Settings (POST /control merges them):
  health_status, health_delay, health_body   what /healthz answers
  metrics_status, metrics_delay              /metrics status, delay (s)
  requests {"200": n, ...}                   http_requests_total{code}
  latency [seconds, ...]                     observations of the histogram
  sessions n                                 http_sessions gauge
  extra "text"                               lines appended to the page
  page "normal"|"broken"|"huge"|"raw"        raw: the `raw` text as is
  raw "text", content_type "..."             for page=raw
  huge_bytes n                               size of the huge page
  gzip true                                  gzip when the client accepts it
"""
import argparse
import gzip
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

DEFAULTS = {
    "health_status": 200,
    "health_delay": 0,
    "health_body": "ok\n",
    "metrics_status": 200,
    "metrics_delay": 0,
    "requests": {"200": 0, "500": 0},
    "latency": [],
    "sessions": 0,
    "extra": "",
    "page": "normal",
    "raw": "",
    "content_type": "text/plain; version=0.0.4; charset=utf-8",
    "huge_bytes": 2 * 1024 * 1024,
    "gzip": False,
}


def fmt(v):
    """A number as the text format writes it."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v)


def render(state):
    """The /metrics page for STATE (normal mode)."""
    out = [
        "# HELP http_requests_total Requests served, by status code.",
        "# TYPE http_requests_total counter",
    ]
    for code in sorted(state["requests"]):
        out.append(f'http_requests_total{{code="{code}"}} {state["requests"][code]}')
    out += [
        "# HELP http_request_duration_seconds Time to answer a request.",
        "# TYPE http_request_duration_seconds histogram",
    ]
    obs = state["latency"]
    for le in BUCKETS:
        n = sum(1 for x in obs if x <= le)
        out.append(f'http_request_duration_seconds_bucket{{le="{fmt(float(le))}"}} {n}')
    out.append(f'http_request_duration_seconds_bucket{{le="+Inf"}} {len(obs)}')
    out.append(f"http_request_duration_seconds_sum {fmt(float(sum(obs)))}")
    out.append(f"http_request_duration_seconds_count {len(obs)}")
    out += [
        "# HELP http_sessions Sessions open now.",
        "# TYPE http_sessions gauge",
        f"http_sessions {state['sessions']}",
    ]
    text = "\n".join(out) + "\n"
    if state["extra"]:
        text += state["extra"]
    return text


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _record(self):
        app = self.server.app
        with app.lock:
            app.last[self.path] = {
                "method": self.command,
                "headers": {k: v for k, v in self.headers.items()},
            }
            app.hits[self.path] = app.hits.get(self.path, 0) + 1

    def _send(self, status, body, ctype="text/plain; charset=utf-8", allow_gzip=False):
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {"Content-Type": ctype}
        if allow_gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            # Level 1: the huge page costs a loaded machine seconds at 9.
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        self.close_connection = True

    def _wait(self, seconds):
        # Sleep in small steps so a stopping app does not hold threads.
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.server.app.stopping:
            time.sleep(0.05)

    def do_GET(self):
        self._record()
        app = self.server.app
        path = self.path.split("?")[0]
        st = app.state()
        if path == "/healthz":
            self._wait(st["health_delay"])
            self._send(st["health_status"], st["health_body"])
        elif path == "/metrics":
            self._wait(st["metrics_delay"])
            page = st["page"]
            ctype = "text/plain; version=0.0.4; charset=utf-8"
            if page == "broken":
                body = render(st) + "http_sessions abc\n"
            elif page == "huge":
                line = "# filler comment to make the page large\n"
                body = (line * (st["huge_bytes"] // len(line) + 1)) + render(st)
            elif page == "raw":
                body = st["raw"]
                ctype = st["content_type"]
            else:
                body = render(st)
            self._send(st["metrics_status"], body, ctype, allow_gzip=st["gzip"])
        elif path == "/control":
            with app.lock:
                body = json.dumps({"state": app.settings, "last": app.last, "hits": app.hits})
            self._send(200, body, "application/json")
        else:
            self._send(404, "not found\n")

    do_HEAD = do_GET

    def do_POST(self):
        path = self.path.split("?")[0]
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n) if n else b""
        if path == "/control":
            self.server.app.control(**json.loads(data or b"{}"))
            self._send(200, "ok\n")
            return
        self.do_GET()


class TestApp:
    """The application on a thread of this process."""

    def __init__(self, cert=None, key=None, port=0, **settings):
        self.lock = threading.Lock()
        self.settings = json.loads(json.dumps(DEFAULTS))
        self.settings.update(settings)
        self.last = {}
        self.hits = {}
        self.stopping = False
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.app = self
        self.tls = cert is not None
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            # The handshake happens in each connection's thread (on its
            # first read), not in accept(): there it held every other
            # client while one was slow, and a loaded machine saw TLS
            # calls time out "connecting".  A client that gives up on the
            # handshake (untrusted certificate) is not an error here.
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
            self.httpd.handle_error = lambda request, client_address: None
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def hostport(self):
        return f"127.0.0.1:{self.port}"

    def state(self):
        with self.lock:
            return json.loads(json.dumps(self.settings))

    def control(self, **kw):
        with self.lock:
            self.settings.update(kw)

    def last_request(self, path):
        with self.lock:
            return self.last.get(path)

    def hit_count(self, path):
        with self.lock:
            return self.hits.get(path, 0)

    def stop(self):
        self.stopping = True
        self.httpd.shutdown()
        self.httpd.server_close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--settings", default="{}", help="initial settings as JSON")
    a = ap.parse_args()
    app = TestApp(cert=a.cert, key=a.key, port=a.port, **json.loads(a.settings))
    print(app.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
