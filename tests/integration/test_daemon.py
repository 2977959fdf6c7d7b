"""The built monitord binary end to end: command line, config check,
HTTP endpoints and their limits, reload and shutdown."""
import json
import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
from daemon import Daemon, SRCDIR, run  # noqa: E402

BASIC = """
[server]
listen = 127.0.0.1:{port}
max_request_size = 1MB
max_connections = 2000

[proc "host"]
interval = 1s
"""


def metric_lines(text, name):
    return [l for l in text.splitlines() if l.startswith(name + "{") or l.startswith(name + " ")]


class CommandLine(unittest.TestCase):
    def test_version(self):
        rc, out, _ = run(["--version"])
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^monitord \d+\.\d+\.\d+\n$")

    def test_help(self):
        rc, out, _ = run(["--help"])
        self.assertEqual(rc, 0)
        self.assertIn("usage: monitord [-f] [-c file] [-d datadir] [-l level]", out)

    def test_bad_option(self):
        rc, _, err = run(["-x"])
        self.assertEqual(rc, 2)
        self.assertIn("usage:", err)

    def test_check_example_config(self):
        path = os.path.join(SRCDIR, "etc", "monitord.conf")
        rc, out, err = run(["-t", "-c", path])
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, f"configuration OK: {path}\n")

    def test_check_missing_file(self):
        rc, out, err = run(["-t", "-c", "/nonexistent/monitord.conf"])
        self.assertEqual(rc, 1)
        self.assertIn("/nonexistent/monitord.conf", err)

    def test_check_reports_every_error_with_line(self):
        import tempfile
        tmp = tempfile.mkdtemp()
        path = os.path.join(tmp, "bad.conf")
        with open(path, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:9330\nretention = 30\n\n"
                    "[proc \"host\"]\ninterval = 5 s\nbogus = 1\n")
        rc, out, err = run(["-t", "-c", path])
        self.assertEqual(rc, 1)
        lines = err.splitlines()
        self.assertTrue(lines[0].startswith(f"{path}:3: "), lines)
        self.assertTrue(lines[1].startswith(f"{path}:6: "), lines)
        self.assertTrue(lines[2].startswith(f"{path}:7: "), lines)
        self.assertEqual(lines[3], "configuration has 3 errors")


    def test_check_bad_promql(self):
        import tempfile
        path = os.path.join(tempfile.mkdtemp(), "alert.conf")
        with open(path, "w") as f:
            f.write('[alert "x"]\nexpr = sum(rate(x[5m]) > \n')
        rc, out, err = run(["-t", "-c", path])
        self.assertEqual(rc, 1)
        self.assertEqual(err, f"{path}:2: invalid expression: 1:18: parse error: "
                              "unclosed left parenthesis\nconfiguration has 1 error\n")


    def test_check_rule_files(self):
        import tempfile
        tmp = tempfile.mkdtemp()
        conf = os.path.join(tmp, "m.conf")
        rules = os.path.join(tmp, "a.yml")
        with open(conf, "w") as f:
            f.write(f"[server]\nrule_files = {tmp}/*.yml\n")
        with open(rules, "w") as f:
            f.write("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m]) >\n")
        rc, out, err = run(["-t", "-c", conf])
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(err, f"{rules}:4: expr: 1:18: parse error: unclosed left parenthesis\n")


    @unittest.skipIf(os.path.exists("/etc/monitord.conf"), "/etc/monitord.conf exists")
    def test_builtin_config(self):
        """No -c and no /etc/monitord.conf: the built-in configuration serves
        127.0.0.1:9330 with this host, its USE service and a self-scrape."""
        import subprocess
        import tempfile
        import urllib.request
        tmp = tempfile.mkdtemp()
        p = subprocess.Popen([os.environ.get("MONITORD_BIN", "monitord"), "-f", "-d",
                              os.path.join(tmp, "data")], cwd=tmp,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 60
            services = targets = None
            while time.time() < deadline:
                try:
                    services = json.loads(urllib.request.urlopen(
                        "http://127.0.0.1:9330/api/services", timeout=10).read())
                    targets = json.loads(urllib.request.urlopen(
                        "http://127.0.0.1:9330/api/targets", timeout=10).read())
                    if all(t["health"] == "up" for t in targets["data"]["targets"]):
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            self.assertEqual([(s["name"], s["method"]) for s in services["data"]["services"]],
                             [("host", "use")])
            self.assertEqual(sorted((t["kind"], t["job"], t["health"]) for t in targets["data"]["targets"]),
                             [("http", "monitord", "up"), ("proc", "host", "up")])
        finally:
            p.send_signal(signal.SIGTERM)
            out = p.communicate(timeout=10)[0].decode()
        self.assertIn("dashboard and API at http://127.0.0.1:9330/", out)
        self.assertEqual(p.returncode, 0)


class Endpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(BASIC)

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def test_healthz(self):
        r = self.d.get("/healthz")
        self.assertEqual((r.status, r.text), (200, "ok\n"))

    def test_prints_url(self):
        self.d.wait_for(lambda: f"http://127.0.0.1:{self.d.port}/" in self.d.stderr(), what="URL in log")

    def test_metrics_has_host_cpu(self):
        def ready():
            st, text = self.d.get_text("/metrics")
            return st == 200 and metric_lines(text, "node_cpu_seconds_total") and text
        text = self.d.wait_for(ready, what="node_cpu_seconds_total on /metrics")
        cpus = os.cpu_count()
        idle = [l for l in metric_lines(text, "node_cpu_seconds_total") if 'mode="idle"' in l]
        self.assertEqual(len(idle), cpus)
        self.assertIn("# TYPE node_cpu_seconds_total counter", text)
        self.assertIn('monitord_build_info{version="', text)
        self.assertRegex(text, r'\nmonitord_target_runs_total\{instance="[^"]+",job="host"\} [1-9]')

    def test_metrics_gzip(self):
        r = self.d.get("/metrics", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
        self.assertTrue(r.headers.get("Content-Type").startswith("text/plain; version=0.0.4"))

    def test_targets(self):
        def up():
            r = self.d.get("/api/targets")
            data = json.loads(r.text)
            t = data["data"]["targets"]
            return t if t and t[0]["health"] == "up" else None
        t = self.d.wait_for(up, what="host target up")
        self.assertEqual(len(t), 1)
        self.assertEqual((t[0]["kind"], t[0]["job"], t[0]["lastError"]), ("proc", "host", ""))
        self.assertEqual(t[0]["interval"], 1.0)
        self.assertGreater(t[0]["lastSamples"], 50)

    def test_not_found(self):
        self.assertEqual(self.d.get("/nope").status, 404)

    def test_oversized_request_413_and_alive(self):
        # The server reads and discards the whole body (lingering close),
        # so the client, still sending, is never reset and reads the 413.
        body = b"x" * (2 * 1024 * 1024)
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as s:
            s.sendall(b"POST /api/v1/import/prometheus HTTP/1.1\r\nHost: t\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
            reply = b""
            while b"\r\n" not in reply:
                part = s.recv(4096)
                if not part:
                    break
                reply += part
        self.assertEqual(reply.split(b"\r\n")[0], b"HTTP/1.1 413 Payload Too Large")
        self.assertEqual(self.d.get("/healthz").status, 200)

    def test_abusive_clients_leave_it_serving(self):
        # Eight kinds of client at once for two seconds: kept-alive and
        # pipelined ones get every answer, in order; slow readers get
        # theirs whole; the rest (leaving early, resetting mid-answer,
        # garbage, half a head) cost nothing that stays.
        import random
        import struct
        import threading
        q = b"GET /api/v1/query?query=1%2B1 HTTP/1.1\r\nHost: t\r\n\r\n"
        big = b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
        post = (b"POST /api/v1/import/prometheus HTTP/1.1\r\nHost: t\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
                b"12\r\nx_abuse 1 1000000\n\r\n0\r\n\r\n")
        problems, done = [], []

        def answers(s, n):
            # N answers' status codes, each read to the end of its body.
            data, codes = b"", []
            while len(codes) < n:
                while b"\r\n\r\n" not in data:
                    part = s.recv(65536)
                    if not part:
                        return codes
                    data += part
                head, data = data.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                while len(data) < length:
                    part = s.recv(65536)
                    if not part:
                        return codes
                    data += part
                data = data[length:]
                codes.append(head.split(b" ")[1])
            return codes

        def client(seed):
            rnd = random.Random(seed)
            end = time.monotonic() + 2
            while time.monotonic() < end:
                kind = rnd.randrange(8)
                with socket.create_connection(("127.0.0.1", self.d.port), timeout=30) as s:
                    if kind == 0:
                        got = []
                        for _ in range(3):
                            s.sendall(q)
                            got += answers(s, 1)
                        want = [b"200"] * 3
                    elif kind == 1:
                        s.sendall(q * 3 + big)
                        got, want = answers(s, 4), [b"200"] * 4
                    elif kind == 2:
                        s.sendall(big)
                        time.sleep(0.02)
                        got, want = answers(s, 1), [b"200"]
                    elif kind == 3:
                        s.sendall(q * 4)
                        got = want = None
                    elif kind == 4:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        s.sendall(big)
                        s.recv(10)
                        got = want = None
                    elif kind == 5:
                        s.sendall(b"\x00\x01garbage\r\n\r\n")
                        got, want = answers(s, 1), [b"400"]
                    elif kind == 6:
                        s.sendall(q[:rnd.randrange(1, len(q))])
                        got = want = None
                    else:
                        s.sendall(post + q)
                        got, want = answers(s, 2), [b"204", b"200"]
                    if got != want:
                        problems.append((kind, got, want))
                    done.append(kind)

        # Four threads: enough to interleave every kind on the daemon,
        # few enough to leave the CPU to tests that run beside this one.
        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(problems, [])
        self.assertEqual(sorted(set(done)), list(range(8)))
        self.d.wait_for(lambda: "monitord_http_connections 1\n" in self.d.get_text("/metrics")[1],
                        what="connections back to the one asking")
        self.assertEqual(self.d.get("/healthz").status, 200)

    def test_many_idle_connections(self):
        socks = []
        try:
            for _ in range(500):
                s = socket.create_connection(("127.0.0.1", self.d.port))
                socks.append(s)
            # A server that served connections one by one would never get
            # to this one (the client's deadline ends the wait).
            r = self.d.get("/healthz")
            self.assertEqual(r.status, 200)
        finally:
            for s in socks:
                s.close()


class Reload(unittest.TestCase):
    def test_broken_config_keeps_old(self):
        d = Daemon(BASIC)
        try:
            d.wait_for(lambda: json.loads(d.get("/api/targets").text)["data"]["targets"][0]["runs"] > 0,
                       what="first run")
            d.write_config(BASIC + "\n[proc \"broken\"\n")
            d.signal(signal.SIGHUP)
            d.wait_for(lambda: "configuration not reloaded" in d.stderr(), what="reload refusal")
            self.assertIn(f"{d.conf}:10: ", d.stderr())
            self.assertEqual(d.get("/healthz").status, 200)
            t = json.loads(d.get("/api/targets").text)["data"]["targets"]
            self.assertEqual([x["job"] for x in t], ["host"])
        finally:
            self.assertEqual(d.stop(), 0)

    def test_good_config_applies(self):
        d = Daemon(BASIC)
        try:
            d.write_config(BASIC + '\n[proc "second"]\ninterval = 2s\nhost = yes\n')
            d.signal(signal.SIGHUP)
            d.wait_for(lambda: "configuration reloaded: 2 targets" in d.stderr(), what="reload")
            t = json.loads(d.get("/api/targets").text)["data"]["targets"]
            self.assertEqual(sorted(x["job"] for x in t), ["host", "second"])
        finally:
            self.assertEqual(d.stop(), 0)

    def test_sigint_stops(self):
        d = Daemon(BASIC)
        d.signal(signal.SIGINT)
        self.assertEqual(d.proc.wait(10), 0)
        self.assertIn("received SIGINT, stopping", d.stderr())
        d.log.close()


if __name__ == "__main__":
    tap.main()
