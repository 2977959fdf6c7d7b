"""PromQL answers of monitord against Prometheus 2.42 on the same data.

The dataset of promql_data.py is backfilled into a throwaway Prometheus
with promtool and imported into the real monitord binary; every query of
tests/data/promql/queries.txt then runs on both at several instants and
ranges, and the answers must agree: same result type, same series, values
equal within 1e-9 relative (NaN equals NaN), the same error type and text.
Each query is one TAP case, so a failure names the query that differs.

Also: promtool as a real API client of monitord, the resolution and sample
limits, and Grafana's health check.  Prometheus listens on 127.0.0.1 on a
free port and is stopped by its PID.  Without prometheus/promtool the test
skips, unless CI is set (then a missing service is a failure)."""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
import promql_data  # noqa: E402
from daemon import Daemon, SRCDIR, free_port  # noqa: E402

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
HAVE_PROM = PROMETHEUS is not None and PROMTOOL is not None
QUERIES = os.path.join(SRCDIR, "tests", "data", "promql", "queries.txt")

T0 = promql_data.T0_MS // 1000
END = T0 + promql_data.N * promql_data.STEP_MS // 1000
# Instants: inside, at odd milliseconds, at the edges, after the end within
# and beyond the lookback.
INSTANTS = [T0 + 3600, T0 + 5432.517, T0 + 1, END + 240, END + 600]
# Ranges: (start, end, step).
RANGES = [(T0, END + 300, 60), (T0 + 1234.567, T0 + 4000, 37.5)]

CONFIG = """
[server]
listen = 127.0.0.1:{port}
retention = 50y
"""


def load_queries():
    out = []
    with open(QUERIES) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def http_json(url, timeout=60):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class Servers:
    """Prometheus and monitord holding the same data, started once."""
    started = False
    error = None

    @classmethod
    def start(cls):
        if cls.started:
            if cls.error:
                raise AssertionError(cls.error)
            return
        cls.started = True
        cls.dir = tempfile.mkdtemp(prefix="monitord-promql-")
        prom_txt = os.path.join(cls.dir, "data.prom")
        om_txt = os.path.join(cls.dir, "data.om")
        promql_data.write_files(prom_txt, om_txt)
        blocks = os.path.join(cls.dir, "prom")
        os.mkdir(blocks)
        subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q", om_txt, blocks],
                       check=True, capture_output=True, timeout=120)
        conf = os.path.join(cls.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
        cls.prom_port = free_port()
        cls.prom_log = open(os.path.join(cls.dir, "prometheus.log"), "w")
        cls.prom = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + conf, "--storage.tsdb.path=" + blocks,
             "--storage.tsdb.retention.time=100y",
             "--web.listen-address=127.0.0.1:%d" % cls.prom_port],
            stdout=cls.prom_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        cls.md = Daemon(CONFIG)
        with open(prom_txt, "rb") as f:
            body = f.read()
        r = cls.md.get("/api/v1/import/prometheus", method="POST", data=body, timeout=120)
        if r.status != 204:
            cls.error = "import failed: %d %s" % (r.status, r.text)
            raise AssertionError(cls.error)
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % cls.prom_port, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline or cls.prom.poll() is not None:
                cls.error = "prometheus did not become ready"
                raise AssertionError(cls.error)
            time.sleep(0.2)
        cls.prom_url = "http://127.0.0.1:%d" % cls.prom_port

    @classmethod
    def stop(cls):
        if not cls.started:
            return
        if getattr(cls, "prom", None) is not None and cls.prom.poll() is None:
            cls.prom.send_signal(signal.SIGTERM)
            try:
                cls.prom.wait(20)
            except subprocess.TimeoutExpired:
                cls.prom.kill()
                cls.prom.wait()
        if getattr(cls, "md", None) is not None:
            cls.md.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)


def same_value(a, b):
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y))


def key(metric):
    return tuple(sorted(metric.items()))


def compare(query, a, b, ordered):
    """None when the answers agree, else a description."""
    (ca, ja), (cb, jb) = a, b
    if ja.get("status") != jb.get("status"):
        return "status: prometheus %s %s, monitord %s %s" % (ca, ja, cb, jb)
    if ja["status"] == "error":
        ea, eb = ja.get("error"), jb.get("error")
        dup = "found duplicate series for the match group "
        if ea.startswith(dup) and eb.startswith(dup):
            # Which group Prometheus reports first depends on Go's map
            # order in range queries.
            ea = eb = dup
        if (ca, ja.get("errorType"), ea) != (cb, jb.get("errorType"), eb):
            return "error: prometheus %s %s: %s\n           monitord   %s %s: %s" % (
                ca, ja.get("errorType"), ja.get("error"), cb, jb.get("errorType"), jb.get("error"))
        return None
    da, db = ja["data"], jb["data"]
    if da["resultType"] != db["resultType"]:
        return "result type: prometheus %s, monitord %s" % (da["resultType"], db["resultType"])
    rt = da["resultType"]
    if rt in ("scalar", "string"):
        ta, va = da["result"]
        tb, vb = db["result"]
        if ta != tb or (rt == "string" and va != vb) or (rt == "scalar" and not same_value(va, vb)):
            return "%s: prometheus %s, monitord %s" % (rt, da["result"], db["result"])
        return None
    ra = {key(s["metric"]): s for s in da["result"]}
    rb = {key(s["metric"]): s for s in db["result"]}
    if len(ra) != len(da["result"]) or len(rb) != len(db["result"]):
        return "duplicate series"
    if set(ra) != set(rb):
        return "series: only in prometheus %s; only in monitord %s" % (
            sorted(set(ra) - set(rb))[:3], sorted(set(rb) - set(ra))[:3])
    for k in ra:
        pa = [ra[k]["value"]] if rt == "vector" else ra[k]["values"]
        pb = [rb[k]["value"]] if rt == "vector" else rb[k]["values"]
        if [p[0] for p in pa] != [p[0] for p in pb]:
            return "%s: timestamps differ: prometheus %s, monitord %s" % (
                dict(k), [p[0] for p in pa][:5], [p[0] for p in pb][:5])
        for (t, x), (_, y) in zip(pa, pb):
            if not same_value(x, y):
                return "%s at %s: prometheus %s, monitord %s" % (dict(k), t, x, y)
    if ordered:
        va = [s["value"][1] for s in da["result"]]
        vb = [s["value"][1] for s in db["result"]]
        if not all(same_value(x, y) for x, y in zip(va, vb)):
            return "order: prometheus %s, monitord %s" % (va, vb)
    if rt == "matrix" and [key(s["metric"]) for s in da["result"]] != [key(s["metric"]) for s in db["result"]]:
        return "matrix series order differs"
    return None


def both(path, params):
    qs = urllib.parse.urlencode(params)
    return (http_json(Servers.prom_url + path + "?" + qs),
            http_json(Servers.md.url + path + "?" + qs))


class PromqlCorpus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not HAVE_PROM:
            if os.environ.get("CI"):
                raise AssertionError("prometheus and promtool are required in CI")
            raise unittest.SkipTest("prometheus/promtool not installed")
        Servers.start()

    def check_query(self, q):
        diffs = []
        ordered = q.startswith("sort")
        for t in INSTANTS:
            a, b = both("/api/v1/query", {"query": q, "time": t})
            d = compare(q, a, b, ordered)
            if d:
                diffs.append("instant %s: %s" % (t, d))
        for start, end, step in RANGES:
            a, b = both("/api/v1/query_range", {"query": q, "start": start, "end": end, "step": step})
            d = compare(q, a, b, False)
            if d:
                diffs.append("range %s..%s/%s: %s" % (start, end, step, d))
        if diffs:
            self.fail("query %r differs:\n  " % q + "\n  ".join(diffs))


def _make_test(q):
    return lambda self: self.check_query(q)


for _i, _q in enumerate(load_queries()):
    setattr(PromqlCorpus, "test_%03d" % _i, _make_test(_q))


def http_raw(url, timeout=60):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# Scalars whose text is easy to get wrong: 15 against 17 digits, powers of
# two (the lower neighbour is nearer), the ends of monitord's fast path
# (1e-14 and 2^53), beyond it (the shortest digits padded with zeros),
# subnormals, signed zero and the specials.
FLOAT_EXPRS = [
    "0", "-0", "0.1", "0.1 + 0.2", "1/3", "2/3", "100/3", "4.35", "-0.001",
    "12.345833333333333", "0.000025", "1e-7", "1e-14", "1.5e-14",
    "9.999999999999998e-15", "2^-44", "2^-1022", "2^-1074", "2^52 + 0.5",
    "2^53 + 1", "1e15 + 0.3", "2^70", "123456789012345678901", "1e21",
    "1e22", "1e300 / 3", "1.7976931348623157e308", "NaN", "Inf", "-Inf",
] + ["%d / 7" % k for k in range(1, 15)] + [
    "10^%d / 3" % k for k in range(-20, 26, 3)] + [
    "exp(%d)" % k for k in range(-30, 31, 7)]


class FloatText(unittest.TestCase):
    """Values are printed byte for byte as Prometheus prints them."""

    @classmethod
    def setUpClass(cls):
        if not HAVE_PROM:
            if os.environ.get("CI"):
                raise AssertionError("prometheus and promtool are required in CI")
            raise unittest.SkipTest("prometheus/promtool not installed")
        Servers.start()

    def raw_both(self, path, params):
        qs = urllib.parse.urlencode(params)
        return (http_raw(Servers.prom_url + path + "?" + qs),
                http_raw(Servers.md.url + path + "?" + qs))

    def test_scalars(self):
        for q in FLOAT_EXPRS:
            a, b = self.raw_both("/api/v1/query", {"query": q, "time": T0})
            self.assertEqual(a, b, q)

    def test_series_values(self):
        # Rates, ratios and quantiles of the corpus' data over whole
        # ranges: many values of 16 and 17 digits.
        for q in ("rate(http_requests_total[5m])",
                  "cpu_usage_percent / 7",
                  "avg_over_time(temperature[10m])",
                  "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[10m]))"):
            a, b = self.raw_both("/api/v1/query_range", {"query": q, "start": T0, "end": END, "step": 60})
            self.assertEqual(a[0], 200, q)
            self.assertEqual(a, b, q)


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not HAVE_PROM:
            if os.environ.get("CI"):
                raise AssertionError("prometheus and promtool are required in CI")
            raise unittest.SkipTest("prometheus/promtool not installed")
        Servers.start()

    def test_resolution_limit(self):
        a, b = both("/api/v1/query_range", {"query": "up", "start": T0, "end": T0 + 11001, "step": 1})
        self.assertEqual(b, (400, {"status": "error", "errorType": "bad_data",
                                   "error": "exceeded maximum resolution of 11,000 points per timeseries. "
                                            "Try decreasing the query resolution (?step=XX)"}))
        self.assertEqual(a, b)
        code, body = http_json(Servers.md.url + "/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": "up", "start": T0, "end": T0 + 11000, "step": 1}))
        self.assertEqual((code, body["status"]), (200, "success"))

    def test_sample_limit(self):
        # 86.4 million steps of a subquery are refused before they are
        # allocated.  (Prometheus counts only the points present and runs
        # this one, slowly: the limit bounds our memory, not the same count.)
        q = "count_over_time(up[1d:1ms])"
        code, body = http_json(Servers.md.url + "/api/v1/query?" + urllib.parse.urlencode(
            {"query": q, "time": END}))
        self.assertEqual((code, body), (422, {"status": "error", "errorType": "execution",
                                              "error": "query processing would load too many samples "
                                                       "into memory in query execution"}))

    def test_bad_parameters(self):
        for path, params in (
                ("/api/v1/query_range", {"query": "up", "start": "x", "end": END, "step": 15}),
                ("/api/v1/query_range", {"query": "up", "start": END, "end": T0, "step": 15}),
                ("/api/v1/query_range", {"query": "up", "start": T0, "end": END, "step": "0"}),
                ("/api/v1/query_range", {"query": "up", "start": T0, "end": END, "step": "abc"}),
                ("/api/v1/query_range", {"query": "up[5m]", "start": T0, "end": END, "step": 15}),
                ("/api/v1/query", {"query": "up", "time": "yesterday"}),
                ("/api/v1/query", {"query": "sum(up"}),
                ("/api/v1/series", {}),
        ):
            a, b = both(path, params)
            self.assertEqual(a, b, "%s %s" % (path, params))

    def test_exemplars(self):
        # Neither keeps exemplars here (Prometheus's exemplar storage is
        # off by default): the answers and errors must be the same.
        for params in ({"query": "up", "start": T0, "end": END},
                       {"query": "rate(up[5m]) + 1"},
                       {"query": "sum(up"},
                       {},
                       {"query": "up", "start": END, "end": T0},
                       {"query": "up", "start": "abc"},
                       {"query": "up", "end": "abc"}):
            a, b = both("/api/v1/query_exemplars", params)
            self.assertEqual(a, b, params)
        self.assertEqual(b[0], 400)
        code, body = http_json(Servers.md.url + "/api/v1/query_exemplars?query=up")
        self.assertEqual((code, body), (200, {"status": "success", "data": []}))
        # No selector: both answer 204 with nothing in the body.
        for base in (Servers.prom_url, Servers.md.url):
            with urllib.request.urlopen(base + "/api/v1/query_exemplars?query=1%2B1",
                                        timeout=10) as r:
                self.assertEqual((r.status, r.read()), (204, b""))

    def test_grafana_health_check(self):
        code, body = http_json(Servers.md.url + "/api/v1/query?query=1%2B1&time=1700000000.5")
        self.assertEqual((code, body), (200, {"status": "success", "data": {
            "resultType": "scalar", "result": [1700000000.5, "2"]}}))

    def test_metadata(self):
        code, body = http_json(Servers.md.url + "/api/v1/metadata?metric=up")
        self.assertEqual((code, body), (200, {"status": "success", "data": {"up": [{
            "type": "gauge", "unit": "",
            "help": "Whether the target's last collection succeeded: 1 if it did, "
                    "0 if it failed or timed out."}]}}))
        code, body = http_json(Servers.md.url + "/api/v1/metadata?limit=2")
        self.assertEqual(len(body["data"]), 2)
        self.assertEqual(list(body["data"]), sorted(body["data"]))

    def test_buildinfo(self):
        code, body = http_json(Servers.md.url + "/api/v1/status/buildinfo")
        self.assertEqual(code, 200)
        self.assertEqual(sorted(body["data"]), ["branch", "buildDate", "buildUser", "goVersion",
                                                "revision", "version"])
        self.assertEqual(body["data"]["version"], "2.42.0")

    def test_form_post(self):
        req = urllib.request.Request(Servers.md.url + "/api/v1/query", method="POST",
                                     data=urllib.parse.urlencode({"query": "sum(up)", "time": T0 + 60}).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = json.loads(r.read())
        self.assertEqual(body["data"]["result"], [{"metric": {}, "value": [T0 + 60, "3"]}])

    def test_api_query_instant_and_range(self):
        code, body = http_json(Servers.md.url + "/api/query?" + urllib.parse.urlencode(
            {"query": "sum(up)", "time": T0 + 60}))
        self.assertEqual(body["data"]["resultType"], "vector")
        code, body = http_json(Servers.md.url + "/api/query?" + urllib.parse.urlencode(
            {"query": "sum(up)", "start": T0 + 60, "end": T0 + 2560}))
        self.assertEqual(body["data"]["resultType"], "matrix")
        # No step: a 250th of the range.
        self.assertEqual([p[0] for p in body["data"]["result"][0]["values"]][:3],
                         [T0 + 60, T0 + 70, T0 + 80])

    def test_series_labels_values(self):
        for path, params in (
                ("/api/v1/series", {"match[]": "up", "start": T0, "end": END}),
                ("/api/v1/series", {"match[]": ['{__name__=~"collide_.*"}', "node_info"]}),
                ("/api/v1/labels", {}),
                ("/api/v1/labels", {"match[]": "up"}),
                ("/api/v1/label/instance/values", {}),
                ("/api/v1/label/__name__/values", {}),
                ("/api/v1/label/instance/values", {"match[]": "node_info"}),
        ):
            qs = urllib.parse.urlencode(params, doseq=True)
            a = http_json(Servers.prom_url + path + "?" + qs)
            b = http_json(Servers.md.url + path + "?" + qs)
            self.assertEqual(a, b, "%s %s" % (path, params))


class Promtool(unittest.TestCase):
    """promtool, a real client of the Prometheus API, against monitord."""

    @classmethod
    def setUpClass(cls):
        if not HAVE_PROM:
            if os.environ.get("CI"):
                raise AssertionError("prometheus and promtool are required in CI")
            raise unittest.SkipTest("prometheus/promtool not installed")
        Servers.start()

    def promtool(self, *args):
        p = subprocess.run([PROMTOOL, "query", *args], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_instant(self):
        out = self.promtool("instant", "--time=%d" % (T0 + 3600), Servers.md.url, 'up{instance="i1"}')
        self.assertEqual(out, 'up{instance="i1", job="node"} => 1 @[%d]\n' % (T0 + 3600))

    def test_instant_agrees(self):
        q = 'sum by (service) (rate(http_requests_total[5m]))'
        a = self.promtool("instant", "--time=%d" % (T0 + 3600), Servers.prom_url, q)
        b = self.promtool("instant", "--time=%d" % (T0 + 3600), Servers.md.url, q)
        self.assertEqual(sorted(a.splitlines()), sorted(b.splitlines()))

    def test_range(self):
        args = ["range", "--start=%d" % T0, "--end=%d" % (T0 + 600), "--step=2m"]
        a = self.promtool(*args, Servers.prom_url, "max_over_time(temperature[5m])")
        b = self.promtool(*args, Servers.md.url, "max_over_time(temperature[5m])")
        self.assertEqual(a, b)
        self.assertIn('{room="a"} =>', b)

    def test_series(self):
        span = ["--start=%d" % T0, "--end=%d" % END]
        a = self.promtool("series", "--match=node_info", *span, Servers.prom_url)
        b = self.promtool("series", "--match=node_info", *span, Servers.md.url)
        self.assertEqual(a, b)
        self.assertEqual(len(b.splitlines()), 3)

    def test_labels(self):
        span = ["--start=%d" % T0, "--end=%d" % END]
        a = self.promtool("labels", *span, Servers.prom_url, "instance")
        b = self.promtool("labels", *span, Servers.md.url, "instance")
        self.assertEqual(a, b)
        self.assertEqual(b.split(), ["i1", "i2", "i3"])


class Cli(unittest.TestCase):
    """monitord query, the terminal client."""

    @classmethod
    def setUpClass(cls):
        if not HAVE_PROM:
            if os.environ.get("CI"):
                raise AssertionError("prometheus and promtool are required in CI")
            raise unittest.SkipTest("prometheus/promtool not installed")
        Servers.start()

    def cli(self, *args):
        from daemon import run
        return run(["query", "--server", Servers.md.url, *args])

    def test_instant_table(self):
        rc, out, err = self.cli("--time", str(T0 + 3600), "node_info")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "SERIES                                   VALUE\n"
                              'node_info{instance="i1", version="1.0"}  1\n'
                              'node_info{instance="i2", version="1.1"}  1\n'
                              'node_info{instance="i3", version="1.2"}  1\n')

    def test_range_table(self):
        rc, out, err = self.cli("--start", str(T0 + 60), "--end", str(T0 + 120), "--step", "1m",
                                'sum(up)')
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "SERIES  TIME                      VALUE\n"
                              "{}      2023-11-14T22:14:20Z      3\n"
                              "        2023-11-14T22:15:20Z      3\n")

    def test_scalar_and_error(self):
        self.assertEqual(self.cli("--time", str(T0), "1 + 1")[:2], (0, "2\n"))
        rc, out, err = self.cli("sum(")
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(err, 'monitord query: bad_data: invalid parameter "query": '
                              "1:5: parse error: unclosed left parenthesis\n")

    def test_usage(self):
        from daemon import run
        rc, _, err = run(["query"])
        self.assertEqual(rc, 2)
        self.assertIn("usage: monitord query", err)


class Stop(unittest.TestCase):
    def test_stop(self):
        Servers.stop()


if __name__ == "__main__":
    tap.main()
