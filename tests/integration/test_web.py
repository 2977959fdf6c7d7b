"""The dashboard served by the built monitord binary: its files (gzip,
ETag, caching), /api/services, and the pages in headless Chromium
(web/test/browser.mjs, with playwright-core installed by `npm ci` from
web/package-lock.json into the build tree).

Without node, npm or Chromium the browser cases are skipped, unless $CI is
set: then it is a failure.  Screenshots go to web/screenshots/ in the build
tree; their paths are printed."""
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
from daemon import BIN, Daemon, SRCDIR, free_port  # noqa: E402

BUILDDIR = os.path.dirname(os.path.abspath(BIN))


def closed_port():
    """A port nothing listens on (connections are refused)."""
    return free_port()


CONFIG = """
[server]
listen = 127.0.0.1:{port}
evaluation_interval = 1s

[proc "host"]
interval = 1s

[proc "crm-api"]
process = monitord
interval = 1s

[postgres "shop-db"]
conninfo = host=127.0.0.1 port=%d dbname=shop user=monitor connect_timeout=1
interval = 1s

[service "shop"]
method = red
job = shop-api
description = The internet shop as its customers see it.
rate = sum(rate(http_requests_total{job="shop-api"}[5m]))
errors = sum(rate(http_requests_total{job="shop-api",code=~"5.."}[5m]))
duration = histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="shop-api"}[5m])))

[service "shop-api"]
method = golden
job = shop-api
description = The Shop API.

[service "crm-api"]
method = use
description = The CRM API's processes.

[service "shop-db"]
method = red
description = The shop's PostgreSQL.

[service "host"]
method = use
description = This host.

[alert "shop-db-unreachable"]
expr = up{job="shop-db"} == 0
severity = critical
summary = Shop DB does not answer
"""

SERVICES = [("shop", "red"), ("shop-api", "golden"), ("crm-api", "use"),
            ("shop-db", "red"), ("host", "use")]


def gunzip_if(r):
    if r.headers.get("Content-Encoding") == "gzip":
        return gzip.decompress(r.body)
    return r.body


class Serving(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(CONFIG % closed_port())
        r = cls.d.get("/", headers={"Accept-Encoding": "gzip"})
        cls.index = gzip.decompress(r.body).decode()
        cls.version = re.search(r"/static/([0-9a-f]{10})/js/app\.js", cls.index).group(1)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_index_gzip(self):
        r = self.d.get("/", headers={"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Encoding"], "gzip")
        self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")
        self.assertEqual(r.headers["Cache-Control"], "no-cache")
        self.assertEqual(r.headers["Vary"], "Accept-Encoding")
        self.assertRegex(r.headers["ETag"], r'^"[0-9a-f]{16}"$')
        self.assertTrue(self.index.startswith("<!doctype html>"))
        self.assertNotIn("@ASSETS_VERSION@", self.index)

    def test_index_identity(self):
        r = self.d.get("/")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.headers.get("Content-Encoding"))
        self.assertEqual(r.body.decode(), self.index)
        self.assertEqual(r.headers.get_all("Vary"), ["Accept-Encoding"])

    def test_gzip_refused_with_q0(self):
        r = self.d.get("/", headers={"Accept-Encoding": "gzip;q=0, identity"})
        self.assertIsNone(r.headers.get("Content-Encoding"))
        self.assertEqual(r.body.decode(), self.index)

    def test_etag_gives_304(self):
        etag = self.d.get("/").headers["ETag"]
        r = self.d.get("/", headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.headers["ETag"], etag)
        r = self.d.get("/", headers={"If-None-Match": '"0000000000000000", W/' + etag})
        self.assertEqual(r.status, 304)
        r = self.d.get("/", headers={"If-None-Match": '"0000000000000000"'})
        self.assertEqual(r.status, 200)

    def test_versioned_asset_is_cached_for_a_year(self):
        r = self.d.get(f"/static/{self.version}/js/app.js", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Type"], "text/javascript; charset=utf-8")
        self.assertEqual(r.headers["Cache-Control"], "public, max-age=31536000, immutable")
        self.assertEqual(r.headers["Content-Encoding"], "gzip")
        with open(os.path.join(SRCDIR, "web", "js", "app.js"), "rb") as f:
            self.assertEqual(gzip.decompress(r.body), f.read())

    def test_unversioned_or_other_version_revalidates(self):
        a = self.d.get(f"/static/{self.version}/app.css")
        for path in ("/static/app.css", "/static/0123456789/app.css"):
            r = self.d.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(r.headers["Cache-Control"], "no-cache", path)
            self.assertEqual(r.headers["ETag"], a.headers["ETag"], path)
            self.assertEqual(r.body, a.body, path)

    def test_every_page_file_is_served(self):
        refs = re.findall(r'(?:href|src)="(/static/[^"]+)"', self.index)
        self.assertGreaterEqual(len(refs), 10)
        for ref in refs:
            r = self.d.get(ref, headers={"Accept-Encoding": "gzip"})
            self.assertEqual((ref, r.status, r.headers["Content-Encoding"]), (ref, 200, "gzip"))

    def test_uplot_is_the_pinned_version(self):
        r = self.d.get(f"/static/{self.version}/vendor/uPlot.iife.min.js")
        with open(os.path.join(SRCDIR, "web", "package-lock.json")) as f:
            pinned = json.load(f)["packages"]["node_modules/uplot"]["version"]
        self.assertTrue(r.body.startswith(b"/*! https://github.com/leeoniya/uPlot (v" + pinned.encode() + b")"),
                        r.body[:80])

    def test_unknown_files_404(self):
        for path in (f"/static/{self.version}/js/nope.js", f"/static/{self.version}/index.html",
                     "/static/", "/static/../etc/passwd", "/static/%2e%2e/app.css", "/index.html",
                     "/static/js"):
            r = self.d.get(path)
            self.assertEqual(r.status, 404, path)

    def test_head(self):
        r = self.d.get(f"/static/{self.version}/app.css", headers={"Accept-Encoding": "gzip"})
        h = self.d.get(f"/static/{self.version}/app.css", method="HEAD", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(h.status, 200)
        self.assertEqual(h.body, b"")
        self.assertEqual(h.headers["Content-Length"], str(len(r.body)))
        self.assertEqual(h.headers["ETag"], r.headers["ETag"])

    def test_post_is_refused(self):
        r = self.d.get("/", method="POST", data=b"x")
        self.assertEqual(r.status, 405)

    def test_services(self):
        r = self.d.get("/api/services")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Type"], "application/json")
        body = json.loads(gunzip_if(r))
        self.assertEqual(body["status"], "success")
        got = [(s["name"], s["method"], s["jobs"], [p["signal"] for p in s["panels"]])
               for s in body["data"]["services"]]
        self.assertEqual(got, [
            ("shop", "red", ["shop-api"], ["rate", "errors", "duration"]),
            ("shop-api", "golden", ["shop-api"], ["latency", "traffic", "errors", "saturation"]),
            ("crm-api", "use", ["crm-api"], ["utilization", "saturation", "errors"]),
            ("shop-db", "red", ["shop-db"], ["rate", "errors", "duration"]),
            ("host", "use", ["host"], ["utilization", "saturation", "errors"]),
        ])
        svc = {s["name"]: s for s in body["data"]["services"]}
        self.assertEqual(svc["shop"]["panels"][0], {
            "signal": "rate", "expr": 'sum(rate(http_requests_total{job="shop-api"}[5m]))',
            "source": "config", "unit": ""})
        self.assertEqual(svc["crm-api"]["panels"][1], {
            "signal": "saturation", "expr": 'sum(process_resident_memory_bytes{job="crm-api"})',
            "source": "default", "unit": "bytes"})
        self.assertEqual(svc["shop-db"]["panels"][0]["expr"],
                         'sum(rate(pg_stat_database_xact_commit{job="shop-db"}[5m]))')
        self.assertEqual(svc["shop"]["description"], "The internet shop as its customers see it.")

    def test_services_follow_a_reload(self):
        d = Daemon("[server]\nlisten = 127.0.0.1:{port}\n[service \"a\"]\nmethod = red\n")
        try:
            names = lambda: [s["name"] for s in json.loads(gunzip_if(d.get("/api/services")))["data"]["services"]]
            self.assertEqual(names(), ["a"])
            d.write_config("[server]\nlisten = 127.0.0.1:{port}\n[service \"b\"]\nmethod = use\n"
                           "[service \"c\"]\nmethod = golden\n")
            d.signal(signal.SIGHUP)
            d.wait_for(lambda: names() == ["b", "c"], what="services after reload")
            # A config with errors keeps the old services.
            d.write_config("[server]\nlisten = 127.0.0.1:{port}\n[service \"d\"]\nmethod = bogus\n")
            d.signal(signal.SIGHUP)
            d.wait_for(lambda: "not reloaded" in d.stderr(), what="refused reload")
            self.assertEqual(names(), ["b", "c"])
        finally:
            d.stop()


def missing(what):
    if os.environ.get("CI"):
        raise AssertionError(f"{what} (needed with CI set)")
    raise unittest.SkipTest(what)


def npm_install():
    """`npm ci` into the build tree's web/node_modules, once per lockfile."""
    web = os.path.join(BUILDDIR, "web")
    src = os.path.join(SRCDIR, "web")
    stamp = os.path.join(web, "node_modules", ".monitord-stamp")
    lock = os.path.join(src, "package-lock.json")
    if os.path.exists(stamp) and os.path.exists(os.path.join(web, "node_modules", "playwright-core")) \
            and os.path.getmtime(stamp) >= os.path.getmtime(lock):
        return os.path.join(web, "node_modules")
    if shutil.which("npm") is None:
        missing("npm is not installed")
    os.makedirs(web, exist_ok=True)
    if os.path.realpath(web) != os.path.realpath(src):
        for f in ("package.json", "package-lock.json", ".npmrc"):
            shutil.copyfile(os.path.join(src, f), os.path.join(web, f))
    p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=web,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        missing(f"npm ci failed: {p.stderr.strip()[-400:]}")
    with open(stamp, "w"):
        pass
    return os.path.join(web, "node_modules")


def chromium_path():
    for c in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if c and os.path.exists(c):
            return c
    return None


class Browser(unittest.TestCase):
    results = {}

    @classmethod
    def setUpClass(cls):
        if shutil.which("node") is None:
            missing("node is not installed")
        chromium = chromium_path()
        if chromium is None:
            missing("Chromium is not installed")
        modules = npm_install()
        cls.d = Daemon(CONFIG % closed_port())
        try:
            cls.run_browser(chromium, modules)
        finally:
            cls.d.stop()

    @classmethod
    def run_browser(cls, chromium, modules):
        d = cls.d
        # Every target has run, so health is settled.
        def targets():
            t = json.loads(gunzip_if(d.get("/api/targets")))["data"]["targets"]
            return t if t and all(x["health"] != "unknown" for x in t) else None
        tg = d.wait_for(targets, what="every target run once")
        query_api = d.get("/api/v1/query?query=1").status != 404
        alerts_api = d.get("/api/alerts").status != 404
        if alerts_api and query_api:
            def firing():
                a = json.loads(gunzip_if(d.get("/api/alerts")))["data"]["alerts"]
                return any(x["state"] == "firing" and x["labels"].get("alertname") == "shop-db-unreachable"
                           for x in a)
            d.wait_for(firing, timeout=30, what="the shop-db alert firing")
        parse_error = None
        if query_api:
            bad = "sum(rate(http_requests_total[5m])"
            r = d.get("/api/v1/query?" + urllib.parse.urlencode({"query": bad}))
            msg = json.loads(gunzip_if(r))["error"]
            m = re.search(r"(\d+):(\d+): parse error", msg)
            parse_error = {"query": bad, "line": int(m.group(1)), "col": int(m.group(2))}
            # The charts are compared over a range of the past (so no
            # sample arrives between the page's query and ours) that holds
            # samples (one a second) from its start to its end: a drag
            # over the middle of a chart zooms into data too.
            def samples():
                r = json.loads(gunzip_if(d.get("/api/v1/query?query=" + urllib.parse.quote(
                    'count_over_time(up{job="host"}[1m])'))))["data"]["result"]
                return r and float(r[0]["value"][1]) >= 20
            d.wait_for(samples, timeout=60, what="20 s of samples of host")
        now = int(time.time() * 1000)
        first = now - 120000
        if query_api:
            r = json.loads(gunzip_if(d.get("/api/v1/query_range?" + urllib.parse.urlencode({
                "query": 'up{job="host"}', "start": (now - 120000) / 1000, "end": now / 1000,
                "step": 1}))))["data"]["result"]
            first = int(float(r[0]["values"][0][0]) * 1000) + 1000
        out = os.path.join(BUILDDIR, "web", "screenshots")
        os.makedirs(out, exist_ok=True)
        expect = {
            "url": d.url, "out": out, "nodeModules": modules, "chromium": chromium,
            "services": [{"name": n, "method": m} for n, m in SERVICES],
            "targets": [{"job": t["job"], "health": t["health"]} for t in tg],
            "health": {"shop-db": "critical" if alerts_api and query_api else "down",
                       "crm-api": "ok", "host": "ok", "shop": "unknown"},
            "firing": ["shop-db-unreachable"] if alerts_api and query_api else [],
            "queryApi": query_api, "alertsApi": alerts_api, "parseError": parse_error,
            "dataService": "host", "dataRange": {"from": str(first), "to": str(now - 5000)},
        }
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(expect, f)
        try:
            p = subprocess.run(["node", os.path.join(SRCDIR, "web", "test", "browser.mjs"), path],
                               capture_output=True, text=True, timeout=300)
        finally:
            os.unlink(path)
        for line in p.stdout.splitlines():
            if line.startswith("RESULT "):
                r = json.loads(line[7:])
                cls.results[r["name"]] = r
            elif line.startswith("#"):
                print(line, flush=True)
        if p.returncode != 0 or not cls.results:
            cls.results["_run"] = {"ok": False, "diag": p.stdout[-2000:] + p.stderr[-2000:]}

    def check(self, name):
        if "_run" in self.results:
            self.fail(self.results["_run"]["diag"])
        r = self.results.get(name)
        self.assertIsNotNone(r, f"browser.mjs reported nothing for {name}")
        if r["skip"]:
            self.skipTest(r["skip"])
        self.assertTrue(r["ok"], r["diag"])

    def test_page_weight_under_200k_gzipped(self):
        self.check("page_weight")

    def test_overview_groups_every_service_by_method(self):
        self.check("overview_groups")

    def test_targets_page_shows_health(self):
        self.check("targets_health")

    def test_explore_shows_parse_error_position(self):
        self.check("explore_parse_error")

    def test_explore_table(self):
        self.check("explore_table")

    def test_time_picker_and_url_state_survive_reload(self):
        self.check("url_state_roundtrip")

    def test_service_charts_match_query_range(self):
        self.check("service_charts_match_query_range")

    def test_alerts_page(self):
        self.check("alerts_page")

    def test_dark_theme_and_phone(self):
        self.check("dark_and_phone")

    def test_no_script_errors(self):
        self.check("no_script_errors")

    def test_screenshots_saved(self):
        self.check("screenshots")


if __name__ == "__main__":
    tap.main()
