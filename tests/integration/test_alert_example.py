"""The example configuration's alerts, end to end, against real failures.

The [alert] sections of etc/monitord.conf are taken verbatim, with the
collector and webhook sections they need, and run in the built daemon
against real servers: tests/integration/testapp.py for the Shop API, a
throwaway PostgreSQL (pgserver.py) for the shop DB, a private RabbitMQ
node (rmqserver.py) for the queue, this host's /proc for the CRM API.
Each alert's failure is injected for real:

  shop-api-errors                 the Shop API answers 100 requests/s with 500
  mq-dead-letters-growing         messages rejected without requeue keep
                                  filling the dead-letter queue
  shop-db-connections-near-limit  held psql sessions take 6 of the 7 slots
                                  of a server with max_connections = 10
  crm-api-cpu-saturated           one busy process per CPU, named crm-api

and each must reach the webhook receiver exactly once as firing, with the
example's labels and summary, then exactly once as resolved when the
failure is removed; no other alert of the example may fire.

The one rewrite besides addresses: time runs 60 times faster.  Every
duration inside the alert sections (`for`, range selectors such as [5m])
loses a unit (minutes become seconds, hours minutes), every collector and
the evaluation run every second, and the webhook groups for 1s instead of
its 30s/5m defaults.  Addresses are rewritten host:port only; the queue's
canary gets `amqp =` because the broker's AMQP port is not 5672.
host-disk-fills-within-a-day is left out: its failure (a disk filling) is
this machine's, and a test filling a real disk to fire it would be rude.

Without rabbitmq-server or PostgreSQL installed the test is skipped,
unless CI is set: then it fails."""
import json
import os
import re
import shutil
import signal
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
from daemon import SRCDIR, Daemon  # noqa: E402
from rmqserver import RabbitMQ, server_script  # noqa: E402
import pgserver  # noqa: E402
from testapp import TestApp  # noqa: E402

EXAMPLE = os.path.join(SRCDIR, "etc", "monitord.conf")
KEEP = ('proc "host"', 'proc "crm-api"', 'http "shop-api"', 'postgres "shop-db"',
        'rabbitmq "mq"', 'webhook "oncall"')
LEFT_OUT = ('alert "host-disk-fills-within-a-day"',)
EXPECTED = ("shop-api-errors", "mq-dead-letters-growing",
            "shop-db-connections-near-limit", "crm-api-cpu-saturated")


def have_servers():
    if server_script() is None:
        return False
    try:
        pgserver.bindir()
    except pgserver.Missing:
        return False
    return True


def sections(path):
    """The file as [(header, [lines])], header None for the preamble;
    comments and blank lines are dropped, the rest kept verbatim."""
    out = [(None, [])]
    with open(path) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith("[") and s.endswith("]"):
                out.append((s[1:-1], []))
            else:
                out[-1][1].append(s)
    return out


def faster(text):
    """A duration inside an alert, 60 times shorter: 10m -> 10s, 6h -> 6m."""
    return re.sub(r"\b(\d+)([mh])\b", lambda m: m.group(1) + {"m": "s", "h": "m"}[m.group(2)],
                  text)


def set_hostport(value, hostport):
    """VALUE with the host:port of its URL or conninfo replaced."""
    if "://" in value:
        return re.sub(r"://[^/]+", "://" + hostport, value, count=1)
    host, port = hostport.rsplit(":", 1)
    value = re.sub(r"\bhost=\S+", "host=" + host, value)
    return re.sub(r"\bport=\S+", "port=" + port, value)


def test_config(addr):
    """The example's sections this test needs, rewritten.  ADDR maps a
    section header to {key: host:port}."""
    out = ["[server]", "listen = 127.0.0.1:{port}", "evaluation_interval = 1s", ""]
    for header, lines in sections(EXAMPLE):
        if header is None or header in LEFT_OUT:
            continue
        is_alert = header.startswith("alert ")
        if not is_alert and header not in KEEP:
            continue
        out.append(f"[{header}]")
        for line in lines:
            key, _, value = (p.strip() for p in line.partition("="))
            if is_alert and key in ("expr", "for"):
                value = faster(value)
            elif key == "interval":
                value = "1s"
            elif key in addr.get(header, {}):
                value = set_hostport(value, addr[header][key])
            out.append(f"{key} = {value}")
        if header == 'rabbitmq "mq"':
            out.append(f"amqp = {addr[header]['amqp']}")
        if header.startswith("webhook "):
            out += ["group_wait = 1s", "group_interval = 1s"]
        out.append("")
    return "\n".join(out)


def boost_session():
    """Move this process, and so the servers it starts, to a session of its
    own and give that session's scheduler autogroup the highest priority,
    so that what runs beside the test (other builds, other tests of `make
    -j2 check`) cannot keep the CRM API from 90 % of the host.  True when
    it worked."""
    try:
        os.setsid()
    except OSError:
        pass            # already a session or group leader: boost that
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write("-20")
        return True
    except OSError:
        return False


class Receiver:
    """The webhook receiver: keeps every payload posted to it."""

    def __init__(self):
        self.got = []
        self.paths = []
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                with outer.lock:
                    outer.got.append(body)
                    outer.paths.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def notes(self, name, status):
        """The notifications about alert NAME with STATUS."""
        with self.lock:
            return [p for p in self.got
                    if p["status"] == status and p["groupLabels"].get("alertname") == name]

    def names(self):
        with self.lock:
            return sorted({p["groupLabels"].get("alertname") for p in self.got})

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Loop:
    """Run FN every STEP seconds on a thread until stop()."""

    def __init__(self, fn, step):
        self.stopping = threading.Event()
        self.errors = []

        def run():
            while not self.stopping.wait(step):
                try:
                    fn()
                except Exception as e:   # the test reports it
                    self.errors.append(e)
                    return
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join()
        if self.errors:
            raise self.errors[0]


@unittest.skipIf(not have_servers() and not os.environ.get("CI"),
                 "rabbitmq-server or PostgreSQL is not installed")
class ExampleAlerts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cleanups = []
        try:
            cls._start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        cls.boosted = boost_session()
        cls.tmp = tempfile.mkdtemp(prefix="monitord-example-")
        cls.cleanups.append(lambda: shutil.rmtree(cls.tmp, True))
        cls.mq = RabbitMQ().start()
        cls.cleanups.append(cls.mq.stop)
        cls.pg = pgserver.PgServer(settings={"max_connections": "10"})
        cls.cleanups.append(cls.pg.destroy)
        cls.app = TestApp(requests={"200": 50, "500": 0})
        cls.cleanups.append(cls.app.stop)
        cls.rx = Receiver()
        cls.cleanups.append(cls.rx.close)

        # The example's roles and topology: a monitoring user on each server,
        # an orders queue whose rejected messages go to orders.dead.
        cls.pg.psql("CREATE ROLE monitor LOGIN; GRANT pg_monitor TO monitor")
        cls.pg.psql("CREATE DATABASE shop")
        cls.mq.api("PUT", "/api/users/monitor", {"password": "guest", "tags": "monitoring"})
        cls.mq.api("PUT", "/api/permissions/%2F/monitor",
                   {"configure": ".*", "write": ".*", "read": ".*"})
        cls.mq.declare_exchange("orders.dlx")
        cls.mq.declare_queue("orders.dead")
        cls.mq.bind("orders.dlx", "orders.dead")
        cls.mq.declare_queue("orders", arguments={"x-dead-letter-exchange": "orders.dlx"})

        rx = f"127.0.0.1:{cls.rx.port}"
        cls.conf = test_config({
            'http "shop-api"': {"probe": cls.app.hostport, "scrape": cls.app.hostport},
            'postgres "shop-db"': {"conninfo": f"127.0.0.1:{cls.pg.port}"},
            'rabbitmq "mq"': {"url": f"127.0.0.1:{cls.mq.mgmt_port}",
                              "prometheus_url": f"127.0.0.1:{cls.mq.prom_port}",
                              "amqp": cls.mq.amqp},
            'webhook "oncall"': {"url": rx},
        })
        cls.d = Daemon(cls.conf)
        cls.cleanups.append(cls.d.stop)

    @classmethod
    def tearDownClass(cls):
        while cls.cleanups:
            try:
                cls.cleanups.pop()()
            except Exception:
                pass

    def wait(self, pred, what, timeout=30):
        return self.d.wait_for(pred, timeout=timeout, what=f"{what}; got {self.rx.got!r}")

    def targets_up(self):
        t = json.loads(self.d.get("/api/targets").text)["data"]["targets"]
        return {x["job"]: x["health"] for x in t}

    def one_alert(self, name, status, timeout=30):
        """The one notification of NAME with STATUS; its one alert."""
        notes = self.wait(lambda: self.rx.notes(name, status), f"{name} {status}", timeout)
        self.assertEqual(len(notes), 1, notes)
        p = notes[0]
        self.assertEqual((p["version"], p["receiver"], p["status"]), ("4", "oncall", status))
        self.assertEqual(len(p["alerts"]), 1, p)
        a = p["alerts"][0]
        self.assertEqual(a["status"], status)
        return a

    def check_fired(self, name, labels, summary, timeout=30):
        a = self.one_alert(name, "firing", timeout)
        self.assertEqual(a["labels"], dict(labels, alertname=name))
        self.assertEqual(sorted(a["annotations"]), ["summary"])
        m = re.fullmatch(summary, a["annotations"]["summary"])
        self.assertIsNotNone(m, a["annotations"]["summary"])
        return a, m

    def check_resolved(self, name, fired):
        a = self.one_alert(name, "resolved")
        self.assertEqual(a["labels"], fired["labels"])
        self.assertEqual(a["startsAt"], fired["startsAt"])
        self.assertNotEqual(a["endsAt"], "0001-01-01T00:00:00Z")

    def test_1_example_is_what_runs(self):
        # the rewrite keeps every rule: only durations differ
        alerts = [h for h, _ in sections(EXAMPLE) if h and h.startswith("alert ")]
        self.assertEqual(len(alerts), 11)
        self.assertIn('expr = sum(rate(http_requests_total{job="shop-api",code=~"5.."}'
                      '[5s])) > 1\nfor = 2s\n', self.conf)
        self.assertIn("for = 10s\n", self.conf)
        for h in alerts:
            self.assertEqual(f"[{h}]" in self.conf, h not in LEFT_OUT, h)
        self.assertEqual(self.d.proc.poll(), None)
        self.wait(lambda: self.targets_up() == {
            "host": "up", "crm-api": "up", "shop-api": "up", "shop-db": "up", "mq": "up"}
            or None, "every target up")

    def test_2_errors_dead_letters_connections(self):
        d = self.d
        self.wait(lambda: self.targets_up().get("mq") == "up" or None, "mq up")

        # A burst of 500s: 20 every 0.2 s, 100/s where the rule wants 1.
        def errors():
            st = self.app.state()["requests"]
            st["500"] += 20
            self.app.control(requests=st)

        # The DLQ filling: 2 messages published and rejected every 0.5 s.
        def reject():
            for _ in range(2):
                self.mq.publish("orders", "order")
            self.mq.reject("orders", 2)

        # Connections: 5 held sessions and the monitor's own, 6 of the 7
        # slots that max_connections = 10 less 3 superuser ones leaves.
        sessions = []
        loops = [Loop(errors, 0.2), Loop(reject, 0.5)]
        try:
            for i in range(5):
                s = self.pg.session(f"held-{i}", db="shop")
                sessions.append(s)
                s.send("SELECT 1;")
            self.check_fired("shop-api-errors", {"severity": "critical"},
                             r"Shop API returns ([0-9.e+]+) errors/s")
            a, m = self.check_fired("mq-dead-letters-growing",
                                    {"severity": "warning", "queue": "orders.dead"},
                                    r"Dead letters pile up in orders\.dead "
                                    r"\(\+([0-9.e+]+) in 10m\)")
            self.assertGreater(float(m.group(1)), 0)
            self.check_fired("shop-db-connections-near-limit",
                             {"severity": "warning", "job": "shop-db",
                              "instance": f"127.0.0.1:{self.pg.port}"},
                             r"Shop DB uses 85\.71% of its connections")
        finally:
            for loop in loops:
                loop.stop()
            for s in sessions:
                s.close()
        fired = {n: self.rx.notes(n, "firing")[0]["alerts"][0]
                 for n in EXPECTED[:3]}
        v = float(re.search(r"returns (\S+) errors",
                            fired["shop-api-errors"]["annotations"]["summary"]).group(1))
        self.assertGreater(v, 1)
        for n in EXPECTED[:3]:
            self.check_resolved(n, fired[n])
        # no other rule fired meanwhile, and nothing was sent twice
        time.sleep(2)
        self.assertEqual(self.rx.names(), sorted(EXPECTED[:3]))
        for n in EXPECTED[:3]:
            self.assertEqual((len(self.rx.notes(n, "firing")), len(self.rx.notes(n, "resolved"))),
                             (1, 1), n)
        self.assertEqual(set(self.rx.paths), {"/hooks/monitord"})
        self.assertEqual(d.proc.poll(), None)

    @staticmethod
    def cpu_seconds(procs):
        """User + system CPU seconds the processes used so far."""
        total = 0
        for p in procs:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def test_3_crm_cpu(self):
        # A CPU-bound CRM API: one busy shell per CPU, whose executable is
        # named crm-api so that its comm is.
        # The rule wants 90 % of the whole host, which builds running beside
        # the test would deny it: setUpClass gave the test's session the
        # highest priority; within it the busy shells yield to the daemon.
        if not self.boosted and not os.environ.get("CI"):
            self.skipTest("cannot give the test's session the highest priority")
        exe = os.path.join(self.tmp, "crm-api")
        shutil.copy("/bin/sh", exe)
        procs = []
        try:
            for _ in range(os.cpu_count()):
                procs.append(subprocess.Popen([exe, "-c", "while :; do :; done"],
                                              preexec_fn=lambda: os.nice(5)))
            t0, c0 = time.monotonic(), self.cpu_seconds(procs)
            try:
                # The rule needs 10 s above 90 % in a row (its 10m, scaled):
                # a test beside this one under make -j2 can break a streak
                # more than once, so the wait is longer than the others'.
                self.check_fired("crm-api-cpu-saturated", {"severity": "warning"},
                                 r"CRM API uses (9\d|1\d\d)(\.\d+)?% of the host's CPU",
                                 timeout=90)
            except AssertionError:
                # The injected failure is "crm-api takes over 90 % of the
                # host".  When other work on a shared machine denied it
                # that, the case did not happen: say so instead of failing.
                share = (self.cpu_seconds(procs) - c0) / ((time.monotonic() - t0) * os.cpu_count())
                if share < 0.92:
                    self.skipTest(f"other load left crm-api only {share:.0%} of the CPU; "
                                  "the rule needs 90 %")
                raise
        finally:
            for p in procs:
                p.send_signal(signal.SIGKILL)
                p.wait()
        fired = self.rx.notes("crm-api-cpu-saturated", "firing")[0]["alerts"][0]
        self.check_resolved("crm-api-cpu-saturated", fired)
        time.sleep(2)
        self.assertEqual(self.rx.names(), sorted(EXPECTED))
        for n in EXPECTED:
            self.assertEqual((len(self.rx.notes(n, "firing")), len(self.rx.notes(n, "resolved"))),
                             (1, 1), n)


if __name__ == "__main__":
    tap.main()
