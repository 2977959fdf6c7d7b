"""The RabbitMQ collector end to end: the built monitord against a private,
real RabbitMQ 3.10 (tests/integration/rmqserver.py) and against a fake
management API that answers badly.

Against the broker: a work queue dead-letters through its
x-dead-letter-exchange argument to a fanout exchange bound to a queue;
another queue dead-letters only through a policy to a direct exchange with
a routing key; N messages are published, K rejected without requeue, M
held delivered-but-unacknowledged by tests/amqp_hold.  monitord must
report exactly K dead letters, M in flight, find the policy-only
dead-letter queue, run the AMQP canary, and read the Prometheus plugin.
A wrong password and a management API that is down make the target down
with an exact error and the password nowhere.  The fake API's non-JSON,
truncated JSON and 50 MB answers make their targets down with exact
errors while the daemon stays healthy and another target keeps running.

Without rabbitmq-server installed the broker cases are skipped, unless CI
is set: then they fail."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
from daemon import BIN, Daemon, free_port  # noqa: E402
from rmqserver import RabbitMQ, server_script  # noqa: E402

HOLD = os.path.join(os.path.dirname(BIN), "tests", "amqp_hold")
N, K, M = 10, 3, 2      # published, rejected to the DLQ, held unacked
P_PUB, P = 4, 2         # the policy-only queue: published, rejected
SECRET = "Wr0ng-s3cret-do-not-log"

broker = None


def setUpModule():
    global broker
    if server_script() is None:
        if os.environ.get("CI"):
            raise RuntimeError("rabbitmq-server is not installed (scripts/deps.sh test)")
        return
    broker = RabbitMQ().start()


def tearDownModule():
    if broker is not None:
        broker.stop()


def need_broker(test):
    return unittest.skipIf(server_script() is None and not os.environ.get("CI"),
                           "rabbitmq-server is not installed")(test)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def latest(d, job):
    """The last run's samples of JOB: [(name, {labels}, value)]."""
    r = d.get(f"/api/targets/latest?job={job}")
    if r.status != 200:
        return []
    out = []
    for line in r.text.splitlines():
        m = SAMPLE.match(line)
        if m:
            out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def value(samples, name, **labels):
    for n, lbls, v in samples:
        if n == name and all(lbls.get(k) == w for k, w in labels.items()):
            return v
    return None


def target(d, job):
    for t in json.loads(d.get("/api/targets").text)["data"]["targets"]:
        if t["job"] == job:
            return t
    return None


def secret_file(text):
    """A password file (mode 0600) in a directory of its own."""
    path = os.path.join(tempfile.mkdtemp(prefix="monitord-rmq-secret-"), "mq.pass")
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


@need_broker
class RealBroker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        b = broker
        b.declare_exchange("dlx", "fanout")
        b.declare_queue("dlq")
        b.bind("dlx", "dlq")
        b.declare_queue("work", arguments={"x-dead-letter-exchange": "dlx"})
        b.declare_exchange("pdlx", "direct")
        b.declare_queue("pdlq")
        b.bind("pdlx", "pdlq", "dead")
        b.declare_queue("other")
        b.bind("pdlx", "other", "alive")
        b.set_policy("dl-policy", "^polwork$",
                     {"dead-letter-exchange": "pdlx", "dead-letter-routing-key": "dead"})
        b.declare_queue("polwork")
        for i in range(N):
            b.publish("work", f"job {i}")
        for i in range(P_PUB):
            b.publish("polwork", f"pol {i}")
        # The policy must apply before the rejects, or they are dropped.
        deadline = time.time() + 15
        while b.queue("polwork").get("policy") != "dl-policy":
            if time.time() > deadline:
                raise AssertionError("policy not applied to polwork")
            time.sleep(0.2)
        got = b.reject("work", K)
        assert len(got) == K, got
        got = b.reject("polwork", P)
        assert len(got) == P, got
        cls.hold = subprocess.Popen(
            [HOLD, "127.0.0.1", str(broker.amqp_port), "guest", "guest", "/", "work", str(M)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cls.addClassCleanup(cls.stop_hold)
        line = cls.hold.stdout.readline()
        assert line == f"held {M}\n", (line, cls.hold.stderr.read() if cls.hold.poll() is not None else "")
        cls.d = Daemon("[server]\nlisten = 127.0.0.1:{port}\n\n"
                       "[rabbitmq \"mq\"]\n"
                       f"url = {b.url}\n"
                       f"password_file = {secret_file('guest')}\n"
                       f"prometheus_url = {b.prometheus_url}\n"
                       f"amqp = {b.amqp}\n"
                       "interval = 3s\n")

    @classmethod
    def stop_hold(cls):
        cls.hold.kill()
        cls.hold.wait()
        cls.hold.stdout.close()
        cls.hold.stderr.close()

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def wait_value(self, name, want, **labels):
        def ok():
            s = latest(self.d, "mq")
            return s if value(s, name, **labels) == want else None
        try:
            return self.d.wait_for(ok, timeout=30, what=f"{name}{labels} == {want}")
        except AssertionError:
            self.assertEqual(value(latest(self.d, "mq"), name, **labels), want)

    def test_dead_letter_queue_depth(self):
        self.wait_value("rabbitmq_dead_letter_queue_messages", K, vhost="/", queue="dlq")

    def test_messages_in_flight(self):
        s = self.wait_value("rabbitmq_queue_messages_unacked", M, vhost="/", queue="work")
        s = self.wait_value("rabbitmq_queue_consumers", 1, vhost="/", queue="work")
        self.assertEqual(value(s, "rabbitmq_queue_messages", queue="work"), N - K)
        self.assertEqual(value(s, "rabbitmq_queue_messages_ready", queue="work"), N - K - M)

    def test_policy_only_dead_letter_queue(self):
        s = self.wait_value("rabbitmq_dead_letter_queue_messages", P, vhost="/", queue="pdlq")
        # Bound to the same exchange with another key: not reached.
        self.assertIsNone(value(s, "rabbitmq_dead_letter_queue_messages", queue="other"))
        self.assertIsNone(value(s, "rabbitmq_dead_letter_queue_messages", queue="work"))
        self.assertEqual(value(s, "rabbitmq_dead_letter_queues"), 2)
        self.assertEqual(value(s, "rabbitmq_queue_messages", queue="polwork"), P_PUB - P)

    def test_canary(self):
        s = self.wait_value("rabbitmq_canary_up", 1)
        rtt = value(s, "rabbitmq_canary_round_trip_seconds")
        self.assertIsNotNone(rtt)
        self.assertGreater(rtt, 0)
        self.assertEqual(value(s, "rabbitmq_canary_errors_total"), 0)
        # Its exclusive queue is listed, consumed by the canary; the
        # connection that owns it is the same run after run.
        self.wait_value("rabbitmq_queue_consumers", 1, queue="monitord.canary")
        owner = broker.queue("monitord.canary")["owner_pid_details"]["name"]
        runs = target(self.d, "mq")["runs"]
        self.d.wait_for(lambda: target(self.d, "mq")["runs"] >= runs + 2, what="two more runs")
        self.assertEqual(value(latest(self.d, "mq"), "rabbitmq_canary_up"), 1)
        self.assertEqual(broker.queue("monitord.canary")["owner_pid_details"]["name"], owner)

    def test_prometheus_plugin(self):
        s = self.wait_value("rabbitmq_global_messages_dead_lettered_rejected_total", K + P,
                            queue_type="rabbit_classic_queue", dead_letter_strategy="at_most_once")
        self.assertEqual(value(s, "rabbitmq_prometheus_up"), 1)
        # Only catalogued counters are kept.
        names = {n for n, _, _ in s}
        self.assertNotIn("rabbitmq_identity_info", names)
        self.assertNotIn("rabbitmq_global_consumers", names)

    def test_target_up_and_labelled(self):
        self.wait_value("up", 1)
        t = target(self.d, "mq")
        self.assertEqual((t["kind"], t["health"], t["lastError"]), ("rabbitmq", "up", ""))
        self.assertEqual(t["instance"], f"127.0.0.1:{broker.mgmt_port}")
        r = self.d.get("/api/targets/latest?job=mq")
        self.assertIn("# TYPE rabbitmq_dead_letter_queue_messages gauge\n", r.text)
        self.assertIn(f'rabbitmq_queue_messages_unacked{{instance="127.0.0.1:{broker.mgmt_port}",'
                      f'job="mq",queue="work",vhost="/"}} {M}\n', r.text)


@need_broker
class WrongPassword(unittest.TestCase):
    def test_down_with_exact_error_and_no_secret(self):
        d = Daemon("[server]\nlisten = 127.0.0.1:{port}\n\n"
                   "[rabbitmq \"mq\"]\n"
                   f"url = {broker.url}\n"
                   f"password_file = {secret_file(SECRET)}\n"
                   f"amqp = {broker.amqp}\n"
                   "interval = 3s\n")
        try:
            t = d.wait_for(lambda: (target(d, "mq") or {}).get("lastError") and target(d, "mq"),
                           what="a failed run")
            self.assertEqual(t["health"], "down")
            self.assertEqual(t["lastError"], "management API /api/policies: HTTP 401: Login failed")
            s = d.wait_for(lambda: value(latest(d, "mq"), "rabbitmq_canary_up") == 0 and latest(d, "mq"),
                           what="canary down")
            self.assertEqual(value(s, "up"), 0)
            self.assertGreaterEqual(value(s, "rabbitmq_canary_errors_total"), 1)
            self.assertIsNone(value(s, "rabbitmq_queues"))
            d.wait_for(lambda: "rabbitmq mq: canary failed: AMQP login: " in d.stderr(), what="canary log")
            self.assertIn("target rabbitmq/mq down: management API /api/policies: HTTP 401: Login failed",
                          d.stderr())
            for text in (d.get("/api/targets").text, d.get("/api/targets/latest?job=mq").text,
                         d.get("/metrics").text, d.stderr()):
                self.assertNotIn(SECRET, text)
        finally:
            self.assertEqual(d.stop(), 0)


class ManagementDown(unittest.TestCase):
    def test_refused(self):
        port = free_port()
        d = Daemon("[server]\nlisten = 127.0.0.1:{port}\n\n"
                   "[rabbitmq \"mq\"]\n"
                   f"url = http://127.0.0.1:{port}\n"
                   "canary = no\n"
                   "interval = 3s\n")
        try:
            t = d.wait_for(lambda: (target(d, "mq") or {}).get("lastError") and target(d, "mq"),
                           what="a failed run")
            self.assertEqual(t["health"], "down")
            self.assertEqual(t["lastError"],
                             f"management API /api/policies: connect to 127.0.0.1:{port}: Connection refused")
        finally:
            self.assertEqual(d.stop(), 0)


class FakeAPI(BaseHTTPRequestHandler):
    """Answers by the first path segment (the prefix in each target's url):
    /nonjson, /truncated and /huge misbehave on /api/queues."""
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def send(self, body, ctype="application/json"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        prefix, _, rest = self.path[1:].partition("/")
        rest = "/" + rest
        try:
            if rest == "/api/policies":
                return self.send(b"[]")
            if not rest.startswith("/api/queues?"):
                return self.send(b'{"error":"Object Not Found","reason":"Not Found"}')
            if prefix == "nonjson":
                return self.send(b"<html><body>502 Bad Gateway</body></html>", "text/html")
            if prefix == "truncated":
                return self.send(b'{"items":[{"name":"a","vhost":"/","messages":1},{"name":"b","vh')
            if prefix == "huge":
                # 50 MB of a valid-looking array, no Content-Length: read
                # until the connection closes, or until the limit.
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                item = b'{"name":"q","vhost":"/","messages":0},'
                chunk = item * (1024 * 1024 // len(item))
                self.wfile.write(b'{"items":[')
                for _ in range(50):
                    self.wfile.write(chunk)
                self.wfile.write(b'{}],"page":1,"page_count":1,"total_count":1}')
        except (BrokenPipeError, ConnectionResetError):
            pass


class BadAnswers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeAPI)
        cls.srv.daemon_threads = True
        cls.thread = threading.Thread(target=cls.srv.serve_forever, daemon=True)
        cls.thread.start()
        base = f"http://127.0.0.1:{cls.srv.server_address[1]}"
        conf = "[server]\nlisten = 127.0.0.1:{port}\n\n[proc \"host\"]\ninterval = 1s\n"
        for name in ("nonjson", "truncated", "huge"):
            conf += f"\n[rabbitmq \"{name}\"]\nurl = {base}/{name}\ncanary = no\ninterval = 3s\n"
        cls.d = Daemon(conf)

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.d.stop() == 0
        finally:
            cls.srv.shutdown()
            cls.srv.server_close()

    def failed(self, job):
        return self.d.wait_for(lambda: (target(self.d, job) or {}).get("lastError") and target(self.d, job),
                               timeout=20, what=f"{job} fails")

    def test_non_json(self):
        t = self.failed("nonjson")
        self.assertEqual(t["health"], "down")
        self.assertEqual(t["lastError"], "management API /api/queues: invalid JSON at line 1 column 1: "
                                         "'[' or '{' expected near '<'")

    def test_truncated(self):
        t = self.failed("truncated")
        self.assertEqual(t["health"], "down")
        self.assertEqual(t["lastError"], "management API /api/queues: invalid JSON at line 1 column 63: "
                                         "premature end of input near '\"vh'")

    def test_huge(self):
        t = self.failed("huge")
        self.assertEqual(t["health"], "down")
        self.assertEqual(t["lastError"], "management API /api/queues: response body larger than 16777216 bytes")

    def test_daemon_healthy_and_others_run(self):
        for job in ("nonjson", "truncated", "huge"):
            self.failed(job)
        before = target(self.d, "host")["runs"]
        self.d.wait_for(lambda: target(self.d, "huge")["runs"] >= 3, what="three runs of huge")
        self.d.wait_for(lambda: target(self.d, "host")["runs"] >= before + 2, what="host keeps running")
        host = target(self.d, "host")
        self.assertEqual((host["health"], host["skipped"]), ("up", 0))
        self.assertEqual(self.d.get("/healthz").status, 200)
        latest_lines = self.d.get("/api/targets/latest?job=huge").text
        self.assertIn('up{instance="127.0.0.1:', latest_lines)
        self.assertNotIn("rabbitmq_queue_messages", latest_lines)


if __name__ == "__main__":
    tap.main()
