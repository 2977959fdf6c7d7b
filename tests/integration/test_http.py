"""The HTTP collector in the real monitord binary against a test application
(testapp.py), TLS servers with certificates made by the openssl command,
and a real prometheus-node-exporter: probe and scrape results, exact values
and errors as /api/targets and /api/targets/latest show them."""
import base64
import calendar
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
from daemon import Daemon, free_port, run  # noqa: E402
from testapp import TestApp, render  # noqa: E402

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
IN_CI = bool(os.environ.get("CI"))

SERVER = """
[server]
listen = 127.0.0.1:{port}
"""

# Targets run every 10 s (the first run comes within a second of the
# start), so their calls time out after 9.5 s (see http_call_timeout): a
# loaded machine kept the test's servers from answering within the 0.9 s
# that a 1 s interval leaves, and even 2.7 s under ASan at nice 19, and a
# probe that times out is a wrong answer here.

LATENCY = [0.003, 0.2, 0.2, 1.5]


def targets(d):
    return {t["job"]: t for t in json.loads(d.get("/api/targets").text)["data"]["targets"]}


def latest(d, job):
    """The last run's samples of JOB: {'name{labels}': 'value'}."""
    out = {}
    for line in d.get(f"/api/targets/latest?job={job}").text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = value
    return out


def names(samples):
    return sorted({s.split("{")[0] for s in samples})


def wait_runs(d, job, n=1):
    return d.wait_for(lambda: targets(d)[job]["runs"] >= n and targets(d)[job],
                      what=f"{job} to run {n} times")


def sample_line_of(page, nth):
    """The line number (from 1) of the NTH sample line of PAGE."""
    k = 0
    for i, line in enumerate(page.splitlines(), 1):
        if line and not line.startswith("#"):
            k += 1
            if k == nth:
                return i
    raise AssertionError("page too short")


def make_cert(dirname, name, san):
    """A self-signed certificate for SAN; returns (cert, key, notAfter)."""
    cert = os.path.join(dirname, name + ".pem")
    key = os.path.join(dirname, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "30", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=" + san],
                   check=True, capture_output=True)
    end = subprocess.run(["openssl", "x509", "-enddate", "-noout", "-in", cert],
                         check=True, capture_output=True, text=True).stdout
    not_after = calendar.timegm(time.strptime(end.strip().split("=", 1)[1],
                                              "%b %d %H:%M:%S %Y GMT"))
    return cert, key, not_after


class ConfigCheck(unittest.TestCase):
    def test_errors_with_lines(self):
        tmp = tempfile.mkdtemp()
        path = os.path.join(tmp, "bad.conf")
        with open(path, "w") as f:
            f.write('[http "nothing"]\ninterval = 1s\n\n'
                    '[http "shop"]\nscrape = http://127.0.0.1:8080/metrics\n'
                    'expect_status = 2xx\nheader = Host: other\n')
        rc, out, err = run(["-t", "-c", path])
        self.assertEqual(rc, 1)
        self.assertEqual(err.splitlines()[:3], [
            f"{path}:1: [http] needs a probe URL, a scrape URL or both",
            f"{path}:6: expect_status applies to the probe, and there is no probe URL",
            f"{path}:7: header Host is set by monitord",
        ])
        shutil.rmtree(tmp)


class ProbeAndScrape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="monitord-http-")
        cls.token = "s3cr3t-t0ken-do-not-log"
        cls.password = "pa55-do-not-log"
        tok = os.path.join(cls.tmp, "token")
        pw = os.path.join(cls.tmp, "password")
        for p, v in ((tok, cls.token), (pw, cls.password)):
            with open(p, "w") as f:
                f.write(v + "\n")
            os.chmod(p, 0o600)
        cls.app = TestApp(requests={"200": 1027, "500": 3}, sessions=12,
                          latency=LATENCY, gzip=True)
        cls.app500 = TestApp(health_status=500)
        cls.labelled = TestApp(requests={"200": 1},
                               extra='pushed_total{job="pushed",instance="gw:9091"} 5\n')
        cls.broken = TestApp(page="broken")
        cls.huge = TestApp(page="huge", huge_bytes=2 * 1024 * 1024)
        cls.hugegz = TestApp(page="huge", huge_bytes=2 * 1024 * 1024, gzip=True)
        cls.closed = free_port()
        a = cls.app.url
        cls.d = Daemon(SERVER + f"""
[http "shop"]
probe = {a}/healthz
scrape = {a}/metrics
header = X-Env: test
interval = 10s

[http "shop-down"]
probe = {cls.app500.url}/healthz
interval = 10s

[http "mixed"]
probe = {cls.app500.url}/healthz?mixed
scrape = {a}/metrics?mixed
interval = 10s

[http "labelled"]
scrape = {cls.labelled.url}/metrics
interval = 10s

[http "honored"]
scrape = {cls.labelled.url}/metrics?honored
honor_labels = yes
interval = 10s

[http "limited"]
scrape = {a}/metrics?limited
sample_limit = 5
interval = 10s

[http "broken"]
scrape = {cls.broken.url}/metrics
interval = 10s

[http "refused"]
probe = http://127.0.0.1:{cls.closed}/healthz
interval = 10s

[http "regex"]
probe = {a}/healthz?regex
body_regex = ^healthy$
interval = 10s

[http "head"]
probe = {a}/healthz?head
method = HEAD
interval = 10s

[http "post"]
probe = {a}/healthz?post
method = POST
expect_status = 200,204
interval = 10s

[http "huge"]
scrape = {cls.huge.url}/metrics
max_body = 1MB
interval = 10s

[http "hugegz"]
scrape = {cls.hugegz.url}/metrics
max_body = 1MB
interval = 10s

[http "bearer"]
scrape = {a}/metrics?bearer
bearer_token_file = {tok}
interval = 10s

[http "basic"]
probe = {a}/healthz?basic
username = monitor
password_file = {pw}
interval = 10s
""")
        for job in targets(cls.d):
            wait_runs(cls.d, job)

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        for app in (cls.app, cls.app500, cls.labelled, cls.broken, cls.huge, cls.hugegz):
            app.stop()
        shutil.rmtree(cls.tmp)
        assert rc == 0

    def lbl(self, job, app=None, **extra):
        app = app or self.app
        labels = dict(extra, instance=app.hostport, job=job)
        return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))

    def test_scraped_values_exact(self):
        s = latest(self.d, "shop")
        L = self.lbl
        self.assertEqual(s[f"http_requests_total{{{L('shop', code='200')}}}"], "1027")
        self.assertEqual(s[f"http_requests_total{{{L('shop', code='500')}}}"], "3")
        self.assertEqual(s[f"http_sessions{{{L('shop')}}}"], "12")
        self.assertEqual(s[f"http_request_duration_seconds_bucket{{{L('shop', le='0.005')}}}"], "1")
        self.assertEqual(s[f"http_request_duration_seconds_bucket{{{L('shop', le='0.25')}}}"], "3")
        self.assertEqual(s[f"http_request_duration_seconds_bucket{{{L('shop', le='+Inf')}}}"], "4")
        self.assertEqual(s[f"http_request_duration_seconds_count{{{L('shop')}}}"], "4")
        self.assertEqual(s[f"http_request_duration_seconds_sum{{{L('shop')}}}"], "1.903")
        self.assertEqual(s[f"up{{{L('shop')}}}"], "1")
        # Every sample of the page, plus the probe's 11 and the core's 3.
        page = render(self.app.state())
        n = sum(1 for line in page.splitlines() if line and not line.startswith("#"))
        self.assertEqual(len(s), n + 11 + 3)
        self.assertEqual(s[f"scrape_samples_scraped{{{L('shop')}}}"], str(n + 11))
        t = targets(self.d)["shop"]
        self.assertEqual((t["health"], t["lastError"], t["instance"]),
                         ("up", "", self.app.hostport))

    def test_probe_ok(self):
        s = latest(self.d, "shop")
        L = self.lbl
        self.assertEqual(s[f"probe_success{{{L('shop')}}}"], "1")
        self.assertEqual(s[f"probe_http_status_code{{{L('shop')}}}"], "200")
        self.assertEqual(s[f"probe_http_content_length{{{L('shop')}}}"], "3")
        self.assertEqual(s[f"probe_http_ssl{{{L('shop')}}}"], "0")
        self.assertEqual(s[f"probe_failed_due_to_regex{{{L('shop')}}}"], "0")
        self.assertEqual(s[f"probe_http_duration_seconds{{{L('shop', phase='tls')}}}"], "0")
        for phase in ("resolve", "connect", "processing", "transfer"):
            self.assertIn(f"probe_http_duration_seconds{{{L('shop', phase=phase)}}}", s)
        self.assertNotIn("probe_ssl_earliest_cert_expiry", names(s))

    def test_counts_follow_the_app(self):
        self.app.control(requests={"200": 2000, "500": 41}, sessions=7)
        key = f"http_requests_total{{{self.lbl('shop', code='500')}}}"
        self.d.wait_for(lambda: latest(self.d, "shop").get(key) == "41", what="500 count 41")
        s = latest(self.d, "shop")
        self.assertEqual(s[f"http_requests_total{{{self.lbl('shop', code='200')}}}"], "2000")
        self.assertEqual(s[f"http_sessions{{{self.lbl('shop')}}}"], "7")
        self.app.control(requests={"200": 1027, "500": 3}, sessions=12)
        # Every job scraping the app is back to its numbers before other
        # cases read them (with 10 s intervals, one scrape can be late).
        for job in ("shop", "mixed", "bearer"):
            key = f"http_sessions{{{self.lbl(job)}}}"
            self.d.wait_for(lambda: latest(self.d, job).get(key) == "12",
                            what=f"{job}: sessions back to 12")

    def test_scrape_request(self):
        h = self.app.last_request("/metrics")["headers"]
        self.assertEqual(h["Accept"], "application/openmetrics-text;version=1.0.0,"
                         "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        self.assertEqual(h["Accept-Encoding"], "gzip")
        self.assertEqual(h["X-Env"], "test")
        self.assertEqual(h["X-Prometheus-Scrape-Timeout-Seconds"], "9.5")
        self.assertNotIn("Authorization", h)
        p = self.app.last_request("/healthz")
        self.assertEqual((p["method"], p["headers"]["X-Env"]), ("GET", "test"))
        self.assertNotIn("Accept", p["headers"])

    def test_probe_500_is_target_down(self):
        t = targets(self.d)["shop-down"]
        self.assertEqual((t["health"], t["lastError"]), ("down", "HTTP status 500, expected 2xx"))
        s = latest(self.d, "shop-down")
        L = lambda: self.lbl("shop-down", self.app500)  # noqa: E731
        self.assertEqual(s[f"probe_success{{{L()}}}"], "0")
        self.assertEqual(s[f"probe_http_status_code{{{L()}}}"], "500")
        self.assertEqual(s[f"up{{{L()}}}"], "0")

    def test_probe_and_scrape_status_is_the_scrape(self):
        t = targets(self.d)["mixed"]
        self.assertEqual((t["health"], t["lastError"], t["instance"]), ("up", "", self.app.hostport))
        s = latest(self.d, "mixed")
        self.assertEqual(s[f"probe_success{{{self.lbl('mixed')}}}"], "0")
        self.assertEqual(s[f"probe_http_status_code{{{self.lbl('mixed')}}}"], "500")
        self.assertEqual(s[f"up{{{self.lbl('mixed')}}}"], "1")
        self.assertEqual(s[f"http_sessions{{{self.lbl('mixed')}}}"], "12")

    def test_honor_labels_no(self):
        s = latest(self.d, "labelled")
        lb = self.labelled
        self.assertEqual(s['pushed_total{exported_instance="gw:9091",exported_job="pushed",'
                           f'instance="{lb.hostport}",job="labelled"}}'], "5")
        self.assertEqual(s[f'http_requests_total{{code="200",instance="{lb.hostport}",job="labelled"}}'], "1")

    def test_honor_labels_yes(self):
        s = latest(self.d, "honored")
        lb = self.labelled
        self.assertEqual(s['pushed_total{instance="gw:9091",job="pushed"}'], "5")
        # Samples without job or instance get the target's.
        self.assertEqual(s[f'http_requests_total{{code="200",instance="{lb.hostport}",job="honored"}}'], "1")
        self.assertEqual(s[f'up{{instance="{lb.hostport}",job="honored"}}'], "1")

    def test_sample_limit(self):
        t = targets(self.d)["limited"]
        line = sample_line_of(render(self.app.state()), 6)
        self.assertEqual((t["health"], t["lastError"]),
                         ("down", f"line {line}: sample limit of 5 exceeded"))
        s = latest(self.d, "limited")
        self.assertEqual(names(s), ["scrape_duration_seconds", "scrape_samples_scraped", "up"])
        self.assertEqual(s[f"up{{{self.lbl('limited')}}}"], "0")
        self.assertEqual(s[f"scrape_samples_scraped{{{self.lbl('limited')}}}"], "0")

    def test_broken_page(self):
        t = targets(self.d)["broken"]
        n = len(render(self.broken.state()).splitlines()) + 1
        self.assertEqual((t["health"], t["lastError"]), ("down", f'line {n}: invalid value "abc"'))
        s = latest(self.d, "broken")
        self.assertEqual(names(s), ["scrape_duration_seconds", "scrape_samples_scraped", "up"])
        self.assertEqual(s[f"up{{{self.lbl('broken', self.broken)}}}"], "0")

    def test_connection_refused(self):
        t = targets(self.d)["refused"]
        hp = f"127.0.0.1:{self.closed}"
        self.assertEqual((t["health"], t["lastError"], t["instance"]),
                         ("down", f"connect to {hp}: Connection refused", hp))
        s = latest(self.d, "refused")
        lbl = f'instance="{hp}",job="refused"'
        self.assertEqual(s[f"probe_success{{{lbl}}}"], "0")
        self.assertEqual(s[f"probe_http_status_code{{{lbl}}}"], "0")
        self.assertEqual(s[f"up{{{lbl}}}"], "0")

    def test_body_regex(self):
        t = targets(self.d)["regex"]
        self.assertEqual((t["health"], t["lastError"]), ("down", "body does not match body_regex"))
        s = latest(self.d, "regex")
        self.assertEqual(s[f"probe_failed_due_to_regex{{{self.lbl('regex')}}}"], "1")
        self.assertEqual(s[f"probe_success{{{self.lbl('regex')}}}"], "0")
        self.assertEqual(s[f"probe_http_status_code{{{self.lbl('regex')}}}"], "200")

    def test_methods(self):
        self.assertEqual(self.app.last_request("/healthz?head")["method"], "HEAD")
        self.assertEqual(self.app.last_request("/healthz?post")["method"], "POST")
        self.assertEqual(self.app.last_request("/healthz?post")["headers"]["Content-Length"], "0")
        for job in ("head", "post"):
            self.assertEqual(targets(self.d)[job]["health"], "up")
        s = latest(self.d, "head")
        self.assertEqual(s[f"probe_success{{{self.lbl('head')}}}"], "1")
        self.assertEqual(s[f"probe_http_content_length{{{self.lbl('head')}}}"], "0")

    def test_max_body(self):
        t = targets(self.d)
        self.assertEqual(t["huge"]["lastError"], "response body larger than 1048576 bytes")
        self.assertEqual(t["hugegz"]["lastError"],
                         "response body larger than 1048576 bytes (decompressed)")
        self.assertEqual(self.hugegz.last_request("/metrics")["headers"]["Accept-Encoding"], "gzip")

    def test_auth_and_secrets_stay_secret(self):
        h = self.app.last_request("/metrics?bearer")["headers"]
        self.assertEqual(h["Authorization"], "Bearer " + self.token)
        h = self.app.last_request("/healthz?basic")["headers"]
        want = base64.b64encode(f"monitor:{self.password}".encode()).decode()
        self.assertEqual(h["Authorization"], "Basic " + want)
        self.assertEqual(targets(self.d)["bearer"]["health"], "up")
        self.assertEqual(targets(self.d)["basic"]["health"], "up")
        for text in (self.d.stderr(), self.d.get("/api/targets").text,
                     self.d.get("/metrics").text):
            self.assertNotIn(self.token, text)
            self.assertNotIn(self.password, text)


class Slow(unittest.TestCase):
    """A target that never answers in time ends with an error of its own
    and does not hold up the others."""

    @classmethod
    def setUpClass(cls):
        cls.slow = TestApp(metrics_delay=60, health_delay=60)
        cls.fast = TestApp()
        cls.d = Daemon(SERVER + f"""
[http "slow"]
scrape = {cls.slow.url}/metrics
interval = 30s
timeout = 20s

[http "slowprobe"]
probe = {cls.slow.url}/healthz
interval = 30s
timeout = 20s

[http "steady"]
probe = {cls.fast.url}/healthz
interval = 5s
""")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.slow.stop()
        cls.fast.stop()
        assert rc == 0

    def test_timeout_and_others_keep_schedule(self):
        d = self.d
        # Both slow targets start their first run within a second.
        d.wait_for(lambda: self.slow.hit_count("/metrics") >= 1, what="the slow scrape to start")
        before = targets(d)["steady"]["runs"]
        self.assertEqual(targets(d)["slow"]["runs"], 0)
        t = d.wait_for(lambda: targets(d)["slow"]["runs"] >= 1 and targets(d)["slow"],
                       timeout=60, what="the slow scrape to time out")
        after = targets(d)["steady"]["runs"]
        self.assertGreaterEqual(after, before + 2)
        self.assertEqual((t["health"], t["lastError"]), ("down", "timeout waiting for the response"))
        s = latest(d, "slow")
        self.assertEqual(names(s), ["scrape_duration_seconds", "scrape_samples_scraped", "up"])
        self.assertEqual(s[f'up{{instance="{self.slow.hostport}",job="slow"}}'], "0")
        self.assertEqual(self.slow.last_request("/metrics")["headers"]
                         ["X-Prometheus-Scrape-Timeout-Seconds"], "19.5")
        self.assertEqual(targets(d)["steady"]["health"], "up")

        # A probe that times out is data: probe_success 0.
        t = self.d.wait_for(lambda: targets(self.d)["slowprobe"]["runs"] >= 1 and
                            targets(self.d)["slowprobe"], timeout=60,
                            what="the slow probe to time out")
        self.assertEqual((t["health"], t["lastError"]), ("down", "timeout waiting for the response"))
        s = latest(self.d, "slowprobe")
        lbl = f'instance="{self.slow.hostport}",job="slowprobe"'
        self.assertEqual(s[f"probe_success{{{lbl}}}"], "0")
        self.assertEqual(s[f"probe_http_status_code{{{lbl}}}"], "0")
        self.assertEqual(s[f"up{{{lbl}}}"], "0")


class InFlight(unittest.TestCase):
    """Reload and shutdown while a call is in flight cancel it cleanly."""

    def test_reload_and_stop_during_a_call(self):
        slow = TestApp(metrics_delay=60)
        conf = SERVER + f"""
[http "hang"]
scrape = {slow.url}/metrics
interval = 30s
timeout = 30s
"""
        d = Daemon(conf)
        try:
            d.wait_for(lambda: slow.hit_count("/metrics") >= 1, what="the scrape to start")
            d.write_config(conf + f'\n[http "other"]\nprobe = {slow.url}/x\ninterval = 30s\n')
            d.signal(signal.SIGHUP)
            d.wait_for(lambda: "configuration reloaded: 2 targets" in d.stderr(), what="reload")
            d.wait_for(lambda: slow.hit_count("/metrics") >= 2, what="the new scrape to start")
            self.assertEqual(d.get("/healthz").status, 200)
        finally:
            rc = d.stop()
            slow.stop()
        self.assertEqual(rc, 0)
        with open(os.path.join(d.dir, "stderr.log")) as f:
            self.assertNotIn("BUG", f.read())


class TLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="monitord-tls-")
        cls.good, key, cls.not_after = make_cert(cls.tmp, "good", "IP:127.0.0.1")
        cls.wrong, wkey, _ = make_cert(cls.tmp, "wrong", "DNS:wrong.test")
        cls.app = TestApp(cert=cls.good, key=key, requests={"200": 5}, gzip=True)
        cls.wapp = TestApp(cert=cls.wrong, key=wkey)
        cls.d = Daemon(SERVER + f"""
[http "tls"]
probe = {cls.app.url}/healthz
scrape = {cls.app.url}/metrics
ca_file = {cls.good}
interval = 10s

[http "insecure"]
probe = {cls.wapp.url}/healthz
insecure_skip_verify = yes
interval = 10s

[http "mismatch"]
probe = {cls.wapp.url}/healthz
ca_file = {cls.wrong}
interval = 10s

[http "untrusted"]
probe = {cls.app.url}/healthz?untrusted
interval = 10s
""")
        for job in targets(cls.d):
            wait_runs(cls.d, job)

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.app.stop()
        cls.wapp.stop()
        shutil.rmtree(cls.tmp)
        assert rc == 0

    def test_verified_probe_and_scrape(self):
        t = targets(self.d)["tls"]
        self.assertEqual((t["health"], t["lastError"]), ("up", ""))
        s = latest(self.d, "tls")
        lbl = f'instance="{self.app.hostport}",job="tls"'
        self.assertEqual(s[f"probe_success{{{lbl}}}"], "1")
        self.assertEqual(s[f"probe_http_ssl{{{lbl}}}"], "1")
        self.assertEqual(float(s[f"probe_ssl_earliest_cert_expiry{{{lbl}}}"]), float(self.not_after))
        self.assertEqual(s[f'http_requests_total{{code="200",{lbl}}}'], "5")

    def test_insecure_skip_verify(self):
        t = targets(self.d)["insecure"]
        self.assertEqual((t["health"], t["lastError"]), ("up", ""))
        s = latest(self.d, "insecure")
        self.assertEqual(s[f'probe_success{{instance="{self.wapp.hostport}",job="insecure"}}'], "1")

    def test_host_name_mismatch_fails(self):
        t = targets(self.d)["mismatch"]
        self.assertEqual((t["health"], t["lastError"]),
                         ("down", f"TLS handshake with {self.wapp.hostport} failed: "
                          "certificate verify failed: IP address mismatch"))
        s = latest(self.d, "mismatch")
        lbl = f'instance="{self.wapp.hostport}",job="mismatch"'
        self.assertEqual(s[f"probe_success{{{lbl}}}"], "0")
        self.assertEqual(s[f"probe_http_status_code{{{lbl}}}"], "0")

    def test_unknown_ca_fails(self):
        t = targets(self.d)["untrusted"]
        self.assertEqual((t["health"], t["lastError"]),
                         ("down", f"TLS handshake with {self.app.hostport} failed: "
                          "certificate verify failed: self-signed certificate"))


class NodeExporter(unittest.TestCase):
    def test_scrape_node_exporter(self):
        if not os.path.exists(NODE_EXPORTER):
            if IN_CI:
                self.fail(f"{NODE_EXPORTER} is missing")
            self.skipTest(f"{NODE_EXPORTER} is not installed")
        port = free_port()
        ne = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                               "--collector.disable-defaults", "--collector.cpu",
                               "--collector.loadavg", "--collector.meminfo"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        d = None
        try:
            d = Daemon(SERVER + f"""
[http "node"]
scrape = http://127.0.0.1:{port}/metrics
interval = 10s
""")
            hp = f"127.0.0.1:{port}"
            d.wait_for(lambda: targets(d)["node"]["health"] == "up", what="node target up")
            s = latest(d, "node")
            idle = [k for k in s if k.startswith("node_cpu_seconds_total{")
                    and 'mode="idle"' in k]
            self.assertEqual(len(idle), os.cpu_count())
            self.assertIn(f'node_cpu_seconds_total{{cpu="0",instance="{hp}",job="node",mode="idle"}}', s)
            self.assertIn(f'node_load1{{instance="{hp}",job="node"}}', s)
            self.assertEqual(s[f'up{{instance="{hp}",job="node"}}'], "1")
            self.assertGreater(float(s[f'node_memory_MemTotal_bytes{{instance="{hp}",job="node"}}']), 0)
        finally:
            rc = d.stop() if d is not None else 0
            ne.terminate()
            ne.wait(10)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    tap.main()
