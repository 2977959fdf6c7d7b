"""Alerting end to end with tests/alert_run (alerting_new on an event loop,
the real HTTP client and server, the LMDB queue) and a file standing in for
the query engine: webhook payloads field by field against a real receiver
(Python http.server on 127.0.0.1), a receiver outage, a kill -9 with a
notification queued, silences, the Prometheus-compatible API, and a real
Alertmanager receiving our alerts and routing them to a webhook."""
import base64
import calendar
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
from daemon import free_port  # noqa: E402

BUILD = os.path.dirname(os.environ.get("MONITORD_BIN", os.path.abspath("monitord")))
RUNNER = os.path.join(BUILD, "tests", "alert_run")
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
IN_CI = bool(os.environ.get("CI"))


def fingerprint(labels):
    """Alertmanager's model.LabelSet.Fingerprint, written from its
    definition: FNV-1a 64 over sorted names and values, 0xff after each."""
    h = 14695981039346656037
    for k in sorted(labels):
        for part in (k, labels[k]):
            for b in part.encode() + b"\xff":
                h ^= b
                h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))


def parse_time(s):
    base, _, frac = s.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + \
        (float("0." + frac) if frac else 0)


class Receiver:
    """A webhook receiver that records every POST; 'status' is what it
    answers."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.posts = []
        self.status = 200
        self.lock = threading.Lock()
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with rec.lock:
                    rec.posts.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body)})
                    status = rec.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self):
        with self.lock:
            return [p["body"] for p in self.posts]

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def wait_for(what, fn, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Runner:
    def __init__(self, config, series="", data=None):
        self.dir = tempfile.mkdtemp(prefix="monitord-alert-")
        self.data = data or os.path.join(self.dir, "data")
        os.makedirs(self.data, exist_ok=True)
        self.series = os.path.join(self.dir, "series")
        self.conf = os.path.join(self.dir, "monitord.conf")
        self.port = free_port()
        with open(self.conf, "w") as f:
            f.write(config.replace("{port}", str(self.port)).replace("{dir}", self.dir))
        self.set_series(series)
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "ab")
        self.proc = subprocess.Popen([RUNNER, self.conf, self.data, self.series],
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening"):
            self.proc.wait()
            raise AssertionError("runner failed: " + open(os.path.join(self.dir, "log")).read())

    def set_series(self, text):
        tmp = self.series + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.series)

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=60) as r:
            return r.read().decode()

    def json(self, path):
        return json.loads(self.get(path))

    def request(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def metric(self, name):
        for line in self.get("/metrics").splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                if line.split(" ")[0] == name or line.startswith(name):
                    return float(line.rsplit(" ", 1)[1])
        return None

    def metric_line(self, series):
        for line in self.get("/metrics").splitlines():
            if line.startswith(series + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


CONFIG = """
[server]
listen = 127.0.0.1:{port}
evaluation_interval = 1s
external_url = http://monitord.example:9330/

[alert "ShopApiErrors"]
expr = shop_errors > 1
severity = critical
labels = team=shop
summary = Shop API returns {{ $value | humanize }} errors/s
description = {{ $labels.instance }} answers 5xx
notify = oncall

[webhook "oncall"]
url = http://127.0.0.1:%d/hook
group_by = alertname
group_wait = 1s
group_interval = 2s
repeat_interval = 1h
username = pager
password_file = {dir}/pass
header = X-Team: shop
"""


def runner_with_secret(config, recv_port, **kw):
    d = tempfile.mkdtemp(prefix="monitord-alert-secret-")
    # The password file path is fixed before the runner's directory
    # exists, so write the secret where {dir} will point: create the
    # runner in two steps.
    r = Runner.__new__(Runner)
    r.dir = d
    r.data = kw.get("data") or os.path.join(d, "data")
    os.makedirs(r.data, exist_ok=True)
    r.series = os.path.join(d, "series")
    r.conf = os.path.join(d, "monitord.conf")
    r.port = free_port()
    pw = os.path.join(d, "pass")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    os.chmod(pw, 0o600)
    with open(r.conf, "w") as f:
        f.write((config % recv_port).replace("{port}", str(r.port)).replace("{dir}", d))
    r.set_series(kw.get("series", ""))
    r.start()
    return r


class WebhookPayload(unittest.TestCase):
    def test_payload_field_by_field(self):
        recv = Receiver()
        r = runner_with_secret(CONFIG, recv.port)
        try:
            r.set_series("shop_errors > 1\t__name__=shop_errors,instance=10.0.0.7:8080,"
                         "job=shop-api\t2345.6\n")
            wait_for("the firing notification", lambda: recv.bodies())
            post = recv.posts[0]
            self.assertEqual(post["path"], "/hook")
            self.assertEqual(post["headers"]["Content-Type"], "application/json")
            self.assertEqual(post["headers"]["X-Team"], "shop")
            self.assertEqual(post["headers"]["Authorization"],
                             "Basic " + base64.b64encode(b"pager:s3cret").decode())
            api = r.json("/api/alerts")["data"]["alerts"]
            self.assertEqual(len(api), 1)
            fired = api[0]["firedAt"]
            labels = {"alertname": "ShopApiErrors", "instance": "10.0.0.7:8080",
                      "job": "shop-api", "severity": "critical", "team": "shop"}
            annotations = {"summary": "Shop API returns 2.346k errors/s",
                           "description": "10.0.0.7:8080 answers 5xx"}
            gen = "http://monitord.example:9330/graph?g0.expr=" + \
                urllib.parse.quote_plus("shop_errors > 1") + "&g0.tab=1"
            self.assertEqual(post["body"], {
                "receiver": "oncall",
                "status": "firing",
                "alerts": [{
                    "status": "firing",
                    "labels": labels,
                    "annotations": annotations,
                    "startsAt": fired,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": gen,
                    "fingerprint": fingerprint(labels),
                }],
                "groupLabels": {"alertname": "ShopApiErrors"},
                "commonLabels": labels,
                "commonAnnotations": annotations,
                "externalURL": "http://monitord.example:9330",
                "version": "4",
                "groupKey": '{}/{receiver="oncall"}:{alertname="ShopApiErrors"}',
                "truncatedAlerts": 0,
            })
            self.assertEqual(list(post["body"].keys()),
                             ["receiver", "status", "alerts", "groupLabels", "commonLabels",
                              "commonAnnotations", "externalURL", "version", "groupKey",
                              "truncatedAlerts"])
            # The condition clears: one resolved notification.
            r.set_series("")
            wait_for("the resolved notification", lambda: len(recv.bodies()) >= 2)
            time.sleep(3)
            bodies = recv.bodies()
            self.assertEqual(len(bodies), 2)
            res = bodies[1]
            self.assertEqual(res["status"], "resolved")
            self.assertEqual(res["alerts"][0]["status"], "resolved")
            self.assertEqual(res["alerts"][0]["startsAt"], fired)
            self.assertGreater(parse_time(res["alerts"][0]["endsAt"]), parse_time(fired))
            self.assertEqual(r.metric_line('monitord_notifications_total{receiver="oncall",'
                                           'result="success"}'), 2)
            self.assertEqual(r.metric_line('monitord_notification_queue_length'
                                           '{receiver="oncall"}'), 0)
        finally:
            r.cleanup()
            recv.stop()


OUTAGE = """
[server]
listen = 127.0.0.1:{port}
evaluation_interval = 1s

[alert "A"]
expr = a

[alert "B"]
expr = b

[alert "C"]
expr = c

[webhook "oncall"]
url = http://127.0.0.1:%d/hook
group_wait = 0s
group_interval = 1s
repeat_interval = 1h
"""


class Outage(unittest.TestCase):
    def test_receiver_down_then_up(self):
        port = free_port()
        r = Runner(OUTAGE % port)
        try:
            # A fires, then B, then A resolves, then C: four notifications
            # made while nobody listens.
            r.set_series("a\tinstance=x\t1\n")
            wait_for("A queued", lambda: r.metric_line(
                'monitord_notification_queue_length{receiver="oncall"}') == 1)
            r.set_series("a\tinstance=x\t1\nb\tinstance=y\t1\n")
            wait_for("B queued", lambda: r.metric_line(
                'monitord_notification_queue_length{receiver="oncall"}') == 2)
            r.set_series("b\tinstance=y\t1\nc\tinstance=z\t1\n")
            wait_for("A resolved and C queued", lambda: r.metric_line(
                'monitord_notification_queue_length{receiver="oncall"}') == 4)
            self.assertGreater(r.metric_line(
                'monitord_notifications_total{receiver="oncall",result="retry"}'), 0)
            self.assertGreater(r.metric_line(
                'monitord_notification_oldest_seconds{receiver="oncall"}'), 0)
            recv = Receiver(port)
            try:
                wait_for("the queue to drain", lambda: r.metric_line(
                    'monitord_notification_queue_length{receiver="oncall"}') == 0)
                time.sleep(2.5)
                got = [(b["groupLabels"]["alertname"], b["status"]) for b in recv.bodies()]
                # A's resolution and C come from one evaluation: either
                # order; each exactly once.
                self.assertEqual(got[:2], [("A", "firing"), ("B", "firing")])
                self.assertEqual(sorted(got[2:]), [("A", "resolved"), ("C", "firing")])
                self.assertEqual(r.metric_line(
                    'monitord_notifications_total{receiver="oncall",result="success"}'), 4)
            finally:
                recv.stop()
        finally:
            r.cleanup()

    def test_queued_notification_survives_kill9(self):
        port = free_port()
        r = Runner(OUTAGE % port)
        try:
            r.set_series("a\tinstance=x\t1\n")
            wait_for("A queued", lambda: r.metric_line(
                'monitord_notification_queue_length{receiver="oncall"}') == 1)
            r.kill9()
            recv = Receiver(port)
            try:
                r.start()
                wait_for("the queued notification", lambda: recv.bodies())
                # The alert still fires after the restart: neither forgotten
                # nor paged again (the notification log was restored).
                time.sleep(4)
                got = [(b["groupLabels"]["alertname"], b["status"]) for b in recv.bodies()]
                self.assertEqual(got, [("A", "firing")])
                api = r.json("/api/v1/alerts")["data"]["alerts"]
                self.assertEqual([a["state"] for a in api], ["firing"])
                # Restarting again with A gone: the resolution is sent.
                r.set_series("")
                wait_for("the resolution", lambda: len(recv.bodies()) == 2)
                self.assertEqual(recv.bodies()[1]["status"], "resolved")
            finally:
                recv.stop()
        finally:
            r.cleanup()


API = """
[server]
listen = 127.0.0.1:{port}
evaluation_interval = 1s
rule_files = rules/*.yml

[alert "Hot"]
expr = temp > 90
for = 1h
resolve = 80
summary = {{ $value }} degrees
notify = oncall

[webhook "oncall"]
url = http://127.0.0.1:%d/hook
group_wait = 0s
group_interval = 1s
"""

RULES = """groups:
  - name: recorded
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Broken
        expr: broken
"""


class Api(unittest.TestCase):
    def test_prometheus_shapes_and_silences(self):
        recv = Receiver()
        d = tempfile.mkdtemp(prefix="monitord-alert-rules-")
        try:
            r = Runner.__new__(Runner)
            r.dir = d
            r.data = os.path.join(d, "data")
            os.makedirs(os.path.join(d, "rules"))
            os.makedirs(r.data)
            with open(os.path.join(d, "rules", "a.yml"), "w") as f:
                f.write(RULES)
            r.series = os.path.join(d, "series")
            r.conf = os.path.join(d, "monitord.conf")
            r.port = free_port()
            with open(r.conf, "w") as f:
                f.write((API % recv.port).replace("{port}", str(r.port)))
            r.set_series("temp > 90\tinstance=oven\t95.5\nsum by (job) (up)\tjob=x\t3\n"
                         "broken\tquery timed out\tERROR\n")
            r.start()
            wait_for("evaluations", lambda: r.json("/api/v1/alerts")["data"]["alerts"])
            # Both groups have evaluated every rule at least once.
            wait_for("every rule evaluated", lambda: all(
                x["health"] != "unknown" for g in r.json("/api/v1/rules")["data"]["groups"]
                for x in g["rules"]))
            alerts = r.json("/api/v1/alerts")
            self.assertEqual(alerts["status"], "success")
            a = alerts["data"]["alerts"][0]
            self.assertEqual(set(a), {"labels", "annotations", "state", "activeAt", "value"})
            self.assertEqual(a["labels"], {"alertname": "Hot", "instance": "oven",
                                           "severity": "warning"})
            self.assertEqual(a["annotations"], {"summary": "95.5 degrees"})
            self.assertEqual(a["state"], "pending")
            self.assertEqual(a["value"], "9.55e+01")
            rules = r.json("/api/v1/rules")["data"]["groups"]
            self.assertEqual([(g["name"], g["file"], g["interval"], g["limit"]) for g in rules],
                             [("monitord.conf", r.conf, 1, 0),
                              ("recorded", os.path.join(d, "rules/a.yml"), 1, 0)])
            hot = rules[0]["rules"][0]
            self.assertEqual(list(hot), ["state", "name", "query", "duration", "keepFiringFor",
                                         "labels", "annotations", "alerts", "health",
                                         "evaluationTime", "lastEvaluation", "type"])
            self.assertEqual((hot["state"], hot["name"], hot["query"], hot["duration"],
                              hot["keepFiringFor"], hot["labels"], hot["health"], hot["type"]),
                             ("pending", "Hot", "temp > 90", 3600, 0,
                              {"severity": "warning"}, "ok", "alerting"))
            rec, broken = rules[1]["rules"]
            self.assertEqual(list(rec), ["name", "query", "health", "evaluationTime",
                                         "lastEvaluation", "type"])
            self.assertEqual((rec["name"], rec["type"], rec["health"]),
                             ("job:up:sum", "recording", "ok"))
            self.assertEqual((broken["health"], broken["lastError"], broken["state"]),
                             ("err", "query timed out", "inactive"))
            only = r.json("/api/v1/rules?type=record")["data"]["groups"]
            self.assertEqual([[x["name"] for x in g["rules"]] for g in only], [["job:up:sum"]])
            self.assertEqual(r.metric_line(
                'monitord_rule_evaluation_failures_total{rule_group="recorded"}') > 0, True)

            # Silences: create, list, expire.
            now = time.time()
            st, body = r.request("POST", "/api/silences", {
                "matchers": [{"name": "alertname", "value": "H.t", "isRegex": True}],
                "startsAt": rfc3339(now - 1) + "Z", "endsAt": rfc3339(now + 3600) + "Z",
                "createdBy": "ops", "comment": "maintenance"})
            self.assertEqual(st, 200)
            sid = body["silenceID"]
            self.assertEqual(len(sid), 36)
            lst = r.json("/api/silences")["data"]
            self.assertEqual([(s["id"], s["status"]["state"], s["createdBy"]) for s in lst],
                             [(sid, "active", "ops")])
            self.assertTrue(r.json("/api/alerts")["data"]["alerts"][0]["silenced"])
            st, body = r.request("POST", "/api/silences", {"matchers": [], "endsAt": "x"})
            self.assertEqual((st, body["error"]), (400, "matchers must be a list of 1 to 64 "
                                                        "matchers"))
            st, body = r.request("DELETE", "/api/silences/" + sid)
            self.assertEqual(st, 200)
            self.assertEqual(r.json("/api/silences")["data"][0]["status"]["state"], "expired")
            st, body = r.request("DELETE", "/api/silences/nope")
            self.assertEqual(st, 404)
            r.cleanup()
        finally:
            recv.stop()
            shutil.rmtree(d, ignore_errors=True)

    def test_silenced_alert_not_notified(self):
        recv = Receiver()
        r = Runner(OUTAGE % recv.port)
        try:
            now = time.time()
            st, _ = r.request("POST", "/api/silences", {
                "matchers": [{"name": "alertname", "value": "A", "isRegex": False}],
                "startsAt": rfc3339(now - 1) + "Z", "endsAt": rfc3339(now + 3600) + "Z",
                "createdBy": "ops", "comment": "known"})
            self.assertEqual(st, 200)
            r.set_series("a\tinstance=x\t1\nb\tinstance=y\t1\n")
            wait_for("B", lambda: recv.bodies())
            time.sleep(2.5)
            self.assertEqual([b["groupLabels"]["alertname"] for b in recv.bodies()], ["B"])
        finally:
            r.cleanup()
            recv.stop()


AM_CONFIG = """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:%d/am-hook
        send_resolved: true
"""

AM_MONITORD = """
[server]
listen = 127.0.0.1:{port}
evaluation_interval = 1s
external_url = http://monitord.example

[alert "DiskFull"]
expr = disk_free < 0.1
severity = critical
summary = {{ $labels.mountpoint }} has {{ $value | humanizePercentage }} free
notify = am

[alertmanager "am"]
url = http://127.0.0.1:%d
"""


class RealAlertmanager(unittest.TestCase):
    def test_alerts_routed_to_webhook(self):
        if not os.access(ALERTMANAGER, os.X_OK):
            if IN_CI:
                self.fail("prometheus-alertmanager is not installed")
            self.skipTest("prometheus-alertmanager is not installed")
        recv = Receiver()
        d = tempfile.mkdtemp(prefix="monitord-am-")
        am_port = free_port()
        with open(os.path.join(d, "am.yml"), "w") as f:
            f.write(AM_CONFIG % recv.port)
        am = subprocess.Popen([ALERTMANAGER, "--config.file=" + os.path.join(d, "am.yml"),
                               "--storage.path=" + os.path.join(d, "am-data"),
                               f"--web.listen-address=127.0.0.1:{am_port}",
                               "--cluster.listen-address="],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "am.log"), "w"))
        r = None
        try:
            def ready():
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{am_port}/-/ready", timeout=1)
                    return True
                except Exception:
                    return False
            wait_for("alertmanager", ready)
            r = Runner(AM_MONITORD % am_port)
            r.set_series("disk_free < 0.1\t__name__=disk_free,mountpoint=/var,"
                         "instance=db1\t0.042\n")
            body = wait_for("Alertmanager's notification", lambda: recv.bodies(), 30)[0]
            ours = r.json("/api/alerts")["data"]["alerts"][0]
            labels = {"alertname": "DiskFull", "instance": "db1", "mountpoint": "/var",
                      "severity": "critical"}
            self.assertEqual(body["receiver"], "hook")
            self.assertEqual(body["status"], "firing")
            self.assertEqual(body["groupLabels"], {"alertname": "DiskFull"})
            self.assertEqual(body["groupKey"], '{}:{alertname="DiskFull"}')
            a = body["alerts"][0]
            self.assertEqual(a["labels"], labels)
            self.assertEqual(a["annotations"], {"summary": "/var has 4.2% free"})
            self.assertEqual(parse_time(a["startsAt"]), parse_time(ours["firedAt"]))
            self.assertEqual(a["generatorURL"], "http://monitord.example/graph?g0.expr="
                             "disk_free+%3C+0.1&g0.tab=1")
            # Alertmanager's fingerprint equals ours.
            self.assertEqual(a["fingerprint"], fingerprint(labels))
            r.set_series("")
            res = wait_for("the resolution", lambda: [b for b in recv.bodies()
                                                      if b["status"] == "resolved"], 30)[0]
            self.assertEqual(res["alerts"][0]["status"], "resolved")
        finally:
            if r is not None:
                r.cleanup()
            am.send_signal(signal.SIGTERM)
            am.wait(timeout=10)
            recv.stop()
            shutil.rmtree(d, ignore_errors=True)

SLOW = """
[server]
listen = 127.0.0.1:{port}
evaluation_interval = 1s

[alert "Slow"]
expr = slow > 1

[alert "After"]
expr = after > 0
"""

MISSED = 'monitord_rule_group_iterations_missed_total{rule_group="monitord.conf"}'
EVALS = 'monitord_rule_evaluations_total{rule_group="monitord.conf"}'


def alert_states(r):
    return {a["labels"]["alertname"]: (a["state"], a["activeAt"])
            for a in r.json("/api/v1/alerts")["data"]["alerts"]}


class SlowRule(unittest.TestCase):
    """A rule whose query is held (the runner's WAIT line: the query waits
    for a gate file) stands for a heavy query.  The query runs on the rules
    worker, so while it is held the loop serves every request; the group's
    ticks meanwhile are skipped and counted, and the next rule of the group
    waits for it.  Before the rules worker, the held query ran on the event
    loop: the first request below would time out and the test fail."""

    def test_loop_serves_while_a_rule_evaluates(self):
        gdir = tempfile.mkdtemp(prefix="monitord-alert-gate-")
        gate = os.path.join(gdir, "gate")
        r = Runner(SLOW, series=f"slow > 1\t{gate}\tWAIT\nslow > 1\tinstance=a\t5\n"
                   "after > 0\tinstance=b\t1\n")
        try:
            # The first evaluation is held from the start: the group's
            # next ticks find it busy.
            wait_for("a missed iteration", lambda: (r.metric_line(MISSED) or 0) >= 2)
            # Every API answers while the evaluation is held.
            for path in ("/api/v1/rules", "/api/alerts", "/api/v1/alerts"):
                with urllib.request.urlopen(f"http://127.0.0.1:{r.port}{path}",
                                            timeout=60) as resp:
                    self.assertEqual(resp.status, 200)
            self.assertEqual(alert_states(r), {})
            # Nothing of the held evaluation was applied: not even the rule
            # after the slow one (rules of a group run in order).
            self.assertEqual(r.metric_line(EVALS), 0)
            rules = r.json("/api/v1/rules")["data"]["groups"][0]["rules"]
            self.assertEqual([(x["name"], x["health"]) for x in rules],
                             [("Slow", "unknown"), ("After", "unknown")])
            self.assertGreaterEqual(r.metric_line(MISSED), 2)

            open(gate, "w").close()
            states = wait_for("both alerts", lambda: len(alert_states(r)) == 2 and alert_states(r))
            self.assertEqual({k: v[0] for k, v in states.items()},
                             {"Slow": "firing", "After": "firing"})
            # The two rules were evaluated at the same time, in one go.
            self.assertEqual(states["Slow"][1], states["After"][1])
            self.assertGreaterEqual(r.metric_line(EVALS), 2)
        finally:
            open(gate, "w").close()
            r.cleanup()
            shutil.rmtree(gdir, ignore_errors=True)

    def test_reload_and_stop_during_an_evaluation(self):
        r = Runner(SLOW, series="slow > 1\tinstance=a\t5\n")
        gate = os.path.join(r.dir, "gate")
        try:
            first = wait_for("Slow firing", lambda: alert_states(r).get("Slow", (None,))[0] == "firing"
                             and alert_states(r)["Slow"])
            # Hold the next evaluation, then reload with one rule more.
            r.set_series(f"slow > 1\t{gate}\tWAIT\nslow > 1\tinstance=a\t5\n"
                         "extra > 0\tinstance=c\t1\n")
            base = r.metric_line(MISSED)
            wait_for("a missed iteration", lambda: r.metric_line(MISSED) > base)
            with open(r.conf, "a") as f:
                f.write('\n[alert "Extra"]\nexpr = extra > 0\n')
            r.proc.send_signal(signal.SIGHUP)

            def reloaded():
                groups = r.json("/api/v1/rules")["data"]["groups"]
                return [x["name"] for x in groups[0]["rules"]] == ["Slow", "After", "Extra"]
            wait_for("the new rules", reloaded)
            # The reload kept the state and the missed count; the new
            # ruleset's evaluation waits behind the held one, so its
            # ticks are missed too.
            self.assertEqual(alert_states(r), {"Slow": first})
            missed = r.metric_line(MISSED)
            self.assertGreaterEqual(missed, base + 1)
            wait_for("a missed iteration of the new rules",
                     lambda: r.metric_line(MISSED) > missed)
            self.assertEqual(alert_states(r), {"Slow": first})

            open(gate, "w").close()
            wait_for("Extra firing", lambda: "Extra" in alert_states(r))
            self.assertEqual(alert_states(r)["Slow"], first)

            # Stop while a rule is held: the runner waits for that query,
            # drops its result and exits cleanly.
            os.unlink(gate)
            missed = r.metric_line(MISSED)
            wait_for("a held evaluation again", lambda: r.metric_line(MISSED) > missed)
            r.proc.send_signal(signal.SIGTERM)
            open(gate, "w").close()
            self.assertEqual(r.proc.wait(timeout=20), 0)
        finally:
            open(gate, "w").close()
            r.cleanup()


if __name__ == "__main__":
    tap.main()
