"""Start the built monitord binary for an integration test and talk to it.

The binary comes from $MONITORD_BIN (set by `make check`), the source tree
from $MONITORD_SRCDIR.  Every daemon listens on 127.0.0.1 on a free port,
keeps its data in a temporary directory, and is stopped by its own PID."""
import gzip
import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.environ.get("MONITORD_BIN", os.path.abspath("monitord"))
SRCDIR = os.environ.get("MONITORD_SRCDIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8")


class Daemon:
    """A monitord process with a config written from CONFIG_TEXT.
    `{port}` and `{dir}` in the text are replaced.  ENV adds to (or, with
    a None value, removes from) the process's environment."""

    def __init__(self, config_text, extra_args=(), wait=True, env=None):
        self.dir = tempfile.mkdtemp(prefix="monitord-test-")
        atexit.register(shutil.rmtree, self.dir, True)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "monitord.conf")
        self.write_config(config_text)
        self.log = open(os.path.join(self.dir, "stderr.log"), "w+b")
        penv = None
        if env:
            penv = dict(os.environ)
            for k, v in env.items():
                if v is None:
                    penv.pop(k, None)
                else:
                    penv[k] = v
        self.proc = subprocess.Popen(
            [BIN, "-f", "-c", self.conf, "-d", os.path.join(self.dir, "data"), *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=penv)
        if wait:
            self.wait_healthy()

    def write_config(self, text):
        with open(self.conf, "w") as f:
            f.write(text.replace("{port}", str(self.port)).replace("{dir}", self.dir))

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    # Deadlines, not delays: each returns as soon as its condition holds.
    # They are generous because a loaded machine (CI runs two builds'
    # tests, one under ASan, on 2 cores) can delay any answer by seconds.
    def wait_healthy(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"monitord exited with {self.proc.returncode}: {self.stderr()}")
            try:
                if self.get("/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"monitord not healthy after {timeout}s: {self.stderr()}")

    def get(self, path, headers=None, method="GET", data=None, timeout=60):
        req = urllib.request.Request(self.url + path, headers=headers or {}, method=method, data=data)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def get_text(self, path):
        r = self.get(path, headers={"Accept-Encoding": "gzip"})
        body = r.body
        if r.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return r.status, body.decode("utf-8")

    def wait_for(self, pred, timeout=30, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = pred()
            if last:
                return last
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; last: {last!r}; log: {self.stderr()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stderr(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("monitord did not stop on SIGTERM")
        self.log.close()
        return self.proc.returncode


def run(args, **kw):
    """Run the binary with ARGS; returns (exit code, stdout, stderr)."""
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30, **kw)
    return p.returncode, p.stdout, p.stderr
