"""The store through the real daemon: import (all or nothing, on disk when
acknowledged), export, scraped samples stored, kill -9 and restart."""
import concurrent.futures
import gzip
import json
import os
import signal
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
from daemon import Daemon  # noqa: E402

CONF = """
[server]
listen = 127.0.0.1:{port}
retention = 100y

[storage]
flush_interval = 1s

[proc "host"]
interval = 1s
"""


def export(d, match, **kw):
    q = urllib.parse.urlencode({"match[]": match, **kw})
    r = d.get("/api/v1/export?" + q)
    assert r.status == 200, (r.status, r.text)
    return [json.loads(l) for l in r.text.splitlines() if l]


def metric(d, name):
    """The value of the unlabelled metric NAME on /metrics."""
    for line in d.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


def flushes(d):
    """The store's completed flushes so far."""
    return metric(d, "monitord_store_flushes_total")


def post(d, body, path="/api/v1/import/prometheus", headers=None):
    return d.get(path, method="POST", data=body, headers=headers or {})


FULL_CONF = """
[server]
listen = 127.0.0.1:{port}
retention = 100y

[storage]
flush_interval = 1s
map_size = 16MB
"""


class DiskFull(unittest.TestCase):
    """A store that reaches its map size refuses writes with a clear error,
    says so on /api/targets and /metrics, keeps what it acknowledged and
    keeps answering reads."""

    def test_full_map_is_reported_and_reads_work(self):
        d = Daemon(FULL_CONF)
        try:
            self.assertEqual(json.loads(d.get("/api/targets").text)["data"]["store"]["health"], "ok")
            pad = "v" * 2000
            acked, refused, n = 0, None, 0
            for batch in range(40):
                lines = "".join('full_m{k="%s%06d"} %d 1700000000000\n' % (pad, n + i, n + i)
                                for i in range(1000))
                r = post(d, lines.encode())
                n += 1000
                if r.status == 204:
                    acked = n
                    continue
                refused = r
                break
            self.assertIsNotNone(refused, "16 MB never filled")
            self.assertEqual(refused.status, 500)
            self.assertIn("database full: it reached its size limit of 16 MB", refused.text)
            st = json.loads(d.get("/api/targets").text)["data"]["store"]
            self.assertEqual(st["health"], "disk_full")
            self.assertEqual(st["lastError"], "database full: it reached its size limit of 16 MB")
            self.assertEqual(st["mapSizeMax"], 16 << 20)
            self.assertGreaterEqual(st["series"], acked)
            metrics = d.get("/metrics").text
            self.assertIn("\nmonitord_store_disk_full 1\n", metrics)
            # Reads still work and every acknowledged sample is there.
            got = export(d, 'full_m')
            self.assertGreaterEqual(len(got), acked)
            self.assertEqual(d.get("/healthz").status, 200)
        finally:
            d.stop()


QUERY_CONF = """
[server]
listen = 127.0.0.1:{port}
retention = 100y
query_threads = 2
"""


class ConcurrentQueries(unittest.TestCase):
    """A dashboard asks for all its panels at once, while imports go on:
    every query is answered (none refused with 503), each with the exact
    answer, and the imports are acknowledged meanwhile."""

    def test_many_queries_at_once_and_imports(self):
        d = Daemon(QUERY_CONF)
        try:
            t0 = 1700000000000
            lines = []
            for s in range(200):
                for k in range(240):
                    lines.append(f'cq_total{{job="j",s="{s}"}} {k * (s + 1)} {t0 + k * 15000}')
            self.assertEqual(post(d, ("\n".join(lines) + "\n").encode()).status, 204)
            start, end = t0 // 1000 + 300, t0 // 1000 + 3585
            q = urllib.parse.urlencode({"query": "sum by (job) (rate(cq_total[5m]))",
                                        "start": start, "end": end, "step": 1})

            def query(_):
                r = d.get("/api/v1/query_range?" + q, timeout=60)
                return r.status, r.text

            def imp(k):
                body = f'cq_other{{job="j",k="{k}"}} {k} {t0}\n'.encode()
                return post(d, body).status

            with concurrent.futures.ThreadPoolExecutor(max_workers=48) as ex:
                queries = list(ex.map(query, range(96)))
                imports = list(ex.map(imp, range(8)))
            self.assertEqual(imports, [204] * 8)
            self.assertEqual(sorted({st for st, _ in queries}), [200])
            self.assertEqual(len({body for _, body in queries}), 1)
            res = json.loads(queries[0][1])["data"]["result"]
            self.assertEqual(len(res), 1)
            # Series s grows by s+1 per 15 s: the sum is 20100/15 per s.
            vals = [float(v) for _, v in res[0]["values"]]
            self.assertEqual(len(vals), end - start + 1)
            for v in vals:
                self.assertAlmostEqual(v, 1340.0, places=9)

            # The same answer compressed, as a browser asks for it.
            r = d.get("/api/v1/query_range?" + q, headers={"Accept-Encoding": "gzip"})
            self.assertEqual((r.status, r.headers["Content-Encoding"], r.headers["Vary"]),
                             (200, "gzip", "Accept-Encoding"))
            self.assertEqual(gzip.decompress(r.body).decode(), queries[0][1])
            r = d.get("/api/v1/query_range?" + q, method="HEAD",
                      headers={"Accept-Encoding": "gzip"})
            self.assertEqual((r.status, r.headers["Content-Encoding"], r.body),
                             (200, None, b""))
            self.assertEqual(int(r.headers["Content-Length"]), len(queries[0][1]))
            # A small answer stays plain.
            r = d.get("/api/v1/query?query=1", headers={"Accept-Encoding": "gzip"})
            self.assertEqual((r.status, r.headers["Content-Encoding"]), (200, None))
        finally:
            self.assertEqual(d.stop(), 0)



class QueryPaths(unittest.TestCase):
    """A query that was small runs on the event loop the next time, with
    limits that hand it back to the worker when the data grew: the answer
    is the whole one either way.  A slow query never holds up the loop."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(QUERY_CONF)

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def query(self, path, **params):
        r = self.d.get(path + "?" + urllib.parse.urlencode(params), timeout=120)
        return r.status, json.loads(r.text)

    def test_grown_query_is_answered_whole(self):
        t0 = 1700000000000
        lines = [f'gq_total{{s="{s}"}} {k * (s + 1)} {t0 + k * 15000}'
                 for s in range(3) for k in range(240)]
        self.assertEqual(post(self.d, ("\n".join(lines) + "\n").encode()).status, 204)
        start, end = t0 // 1000 + 300, t0 // 1000 + 3585
        rq = {"query": "sum(rate(gq_total[5m])) + count(gq_total)", "start": start,
              "end": end, "step": 15}
        iq = {"query": "count_over_time(gq_total[2h])", "time": t0 // 1000 + 3730}
        # Small: from the second time on, on the loop; same answers.
        ranges = [self.query("/api/v1/query_range", **rq) for _ in range(4)]
        instants = [self.query("/api/v1/query", **iq) for _ in range(4)]
        self.assertEqual([st for st, _ in ranges + instants], [200] * 8)
        self.assertEqual(len({json.dumps(b) for _, b in ranges}), 1)
        self.assertEqual(len({json.dumps(b) for _, b in instants}), 1)
        # rate sums to (1+2+3)/15 per s, and 3 series are counted.
        vals = ranges[0][1]["data"]["result"][0]["values"]
        self.assertEqual(len(vals), (end - start) // 15 + 1)
        for _, v in vals:
            self.assertAlmostEqual(float(v), 6 / 15 + 3, places=9)
        self.assertEqual(sorted(float(r["value"][1]) for r in instants[0][1]["data"]["result"]),
                         [240.0] * 3)
        # Compressed, small and large answers (the large ones are packed
        # on the worker): the same bytes.
        for step in (15, 1):
            q = urllib.parse.urlencode(dict(rq, step=step))
            plain = self.d.get("/api/v1/query_range?" + q).text
            for _ in range(3):
                r = self.d.get("/api/v1/query_range?" + q, headers={"Accept-Encoding": "gzip"})
                self.assertEqual((r.status, r.headers["Content-Encoding"]), (200, "gzip"))
                self.assertEqual(gzip.decompress(r.body).decode(), plain)
        self.assertGreater(len(plain), 32 * 1024)

        # More series than the loop's engine selects, and one series with
        # more samples than it holds (after the range query's end): the
        # worker gives the whole answers.
        lines = [f'gq_total{{s="{s}"}} {k * (s + 1)} {t0 + k * 15000}'
                 for s in range(3, 603) for k in range(240)]
        lines += [f'gq_total{{s="0"}} {240 + k} {t0 + 3600000 + k}'
                  for k in range(120000)]
        self.assertEqual(post(self.d, ("\n".join(lines) + "\n").encode()).status, 204)
        for _ in range(3):
            st, b = self.query("/api/v1/query", **iq)
            self.assertEqual(st, 200)
            got = {r["metric"]["s"]: float(r["value"][1]) for r in b["data"]["result"]}
            self.assertEqual(len(got), 603)
            self.assertEqual(got["0"], 240.0 + 120000)
            self.assertEqual({v for s, v in got.items() if s != "0"}, {240.0})
            st, b = self.query("/api/v1/query_range", **rq)
            self.assertEqual(st, 200)
            vals = b["data"]["result"][0]["values"]
            self.assertEqual(len(vals), (end - start) // 15 + 1)
            for _, v in vals:
                self.assertAlmostEqual(float(v), 603 * 604 / 2 / 15 + 603, places=6)

    def test_slow_query_does_not_block_healthz(self):
        t0 = 1710000000000
        lines = [f'sq_total{{s="{s}"}} {k * (s + 1)} {t0 + k * 15000}'
                 for s in range(20) for k in range(240)]
        self.assertEqual(post(self.d, ("\n".join(lines) + "\n").encode()).status, 204)
        # Some seconds of work in a few MB: every step's quantile over the
        # 36,000 points of an hour of the subquery.
        slow = {"query": "quantile_over_time(0.5, rate(sq_total[5m])[1h:100ms])",
                "start": t0 // 1000 + 300, "end": t0 // 1000 + 3585, "step": 15}
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
            fut = ex.submit(self.query, "/api/v1/query_range", **slow)
            self.d.wait_for(lambda: "in_flight 1" in self.in_flight(),
                            what="the slow query to start")
            # The loop answers while the query runs on the worker.
            r = self.d.get("/healthz")
            self.assertEqual(r.status, 200)
            self.assertFalse(fut.done())
            st, b = fut.result(timeout=300)
        self.assertEqual((st, b["status"], len(b["data"]["result"])), (200, "success", 20))
        # Its timeout is a 503, however small it was before.
        st, b = self.query("/api/v1/query_range", timeout="50ms", **slow)
        self.assertEqual((st, b), (503, {"status": "error", "errorType": "timeout",
                                         "error": "query timed out in expression evaluation"}))

    def in_flight(self):
        # Less the request for /metrics itself.
        return "in_flight %d" % (metric(self.d, "monitord_http_requests_in_flight") - 1)


class Import(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(CONF)

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def test_import_then_export_exact(self):
        body = (b'impx_a{job="j",x="1"} 1.5 1700000000000\n'
                b'impx_a{job="j",x="1"} 2.5 1700000015000\n'
                b'impx_a{job="j",x="2"} NaN 1700000000000\n'
                b'impx_b 1e+21 1700000000000\n')
        r = post(self.d, body)
        self.assertEqual(r.status, 204)
        self.assertEqual((r.headers["X-Samples-Stored"], r.headers["X-Samples-Dropped"]), ("4", "0"))
        got = export(self.d, 'impx_a{x="1"}')
        self.assertEqual(got, [{"metric": {"__name__": "impx_a", "job": "j", "x": "1"},
                                "values": [1.5, 2.5], "timestamps": [1700000000000, 1700000015000]}])
        got = export(self.d, '{__name__=~"impx_.*",x!="1"}')
        self.assertEqual([g["metric"] for g in got],
                         [{"__name__": "impx_a", "job": "j", "x": "2"}, {"__name__": "impx_b"}])
        self.assertTrue(got[0]["values"][0] != got[0]["values"][0])    # NaN
        self.assertEqual(got[1]["values"], [1e21])

    def test_import_series_in_changing_order(self):
        # The importer guesses that each line's series is the one that came
        # after the last line's the time before: the guess must never give
        # a line another series' labels, whatever the order, with series
        # new half-way, one series spelled two ways, and orders that keep
        # the guess wrong.
        t0 = 1700000000000
        lines, want = [], {}

        def add(raw, key, v, t):
            lines.append(b"%s %r %d\n" % (raw, v, t))
            want.setdefault(key, []).append((t, v))

        for i in range(60):
            t = t0 + i * 15000
            order = list(range(8)) if i % 3 else list(range(7, -1, -1))
            if i >= 20:
                order.insert(i % 8, 8)        # a new series from scrape 20
            if i % 7 == 5:
                order = order[1::2] + order[0::2]
            for k in order:
                raw = b'imp_ord{job="o",k="%d"}' % k
                if k == 3 and i % 2:
                    raw = b'imp_ord{k="3",job="o"}'    # the same series
                add(raw, str(k), float(i * 10 + k), t)
        r = post(self.d, b"".join(lines))
        self.assertEqual(r.status, 204)
        self.assertEqual(r.headers["X-Samples-Stored"], str(len(lines)))
        got = export(self.d, "imp_ord")
        self.assertEqual(len(got), 9)
        for g in got:
            k = g["metric"]["k"]
            self.assertEqual(g["metric"], {"__name__": "imp_ord", "job": "o", "k": k})
            self.assertEqual(list(zip(g["timestamps"], g["values"])), want[k], k)

    def test_bad_line_stores_nothing(self):
        body = (b'imp_bad{job="k"} 1 1700000000000\n'
                b'imp_bad{job="k"} 2 1700000015000\n'
                b'imp_bad{job="k" 3 1700000030000\n')
        r = post(self.d, body)
        self.assertEqual(r.status, 400)
        err = json.loads(r.text)
        self.assertEqual(err["errorType"], "bad_data")
        self.assertTrue(err["error"].startswith("line 3: "), err)
        self.assertEqual(export(self.d, "imp_bad"), [])

    def test_large_body_all_or_none(self):
        # A body of megabytes arrives in many pieces, parsed as they are:
        # line numbers count from the start, a bad line late in it stores
        # nothing, and a good body is stored whole.
        lines = [b'imp_big{job="b",k="%d"} %d %d\n' % (i % 100, i, 1700000000000 + (i // 100) * 1000)
                 for i in range(40000)]
        bad = list(lines)
        bad[30000] = b'imp_big{job="b",k="0" 1 1700000300000\n'
        self.assertGreater(len(b"".join(bad)), 1 << 20)
        r = post(self.d, b"".join(bad))
        self.assertEqual(r.status, 400)
        self.assertTrue(json.loads(r.text)["error"].startswith("line 30001: "), r.text)
        self.assertEqual(export(self.d, "imp_big"), [])
        r = post(self.d, b"".join(lines), path="/api/v1/import/prometheus?extra_label=half%3Dboth")
        self.assertEqual(r.status, 204)
        self.assertEqual(r.headers["X-Samples-Stored"], "40000")
        got = export(self.d, "imp_big")
        self.assertEqual(len(got), 100)
        for g in got:
            k = int(g["metric"]["k"])
            self.assertEqual(g["metric"], {"__name__": "imp_big", "job": "b", "k": str(k), "half": "both"})
            self.assertEqual(g["values"], [float(i) for i in range(k, 40000, 100)])
            self.assertEqual(g["timestamps"], [1700000000000 + (i // 100) * 1000 for i in range(k, 40000, 100)])

    def test_gzip_body_and_extra_label(self):
        body = gzip.compress(b'imp_gz 7 1700000000000\n')
        r = post(self.d, body, path="/api/v1/import/prometheus?extra_label=env%3Dtest",
                 headers={"Content-Encoding": "gzip"})
        self.assertEqual(r.status, 204)
        self.assertEqual(export(self.d, "imp_gz"),
                         [{"metric": {"__name__": "imp_gz", "env": "test"}, "values": [7],
                           "timestamps": [1700000000000]}])

    def test_form_content_type_body_is_data(self):
        # curl -d and most libraries label any body as a form: the import
        # reads it as lines all the same ("%zz" is no URL escape, "&" and
        # "=" separate nothing), and a query-string extra_label still works.
        body = (b'imp_form{job="a&b=c",p="50%zz"} 1 1700000000000\n'
                b'imp_form{job="a&b=c",p="50%zz"} 2 1700000015000\n')
        r = post(self.d, body, path="/api/v1/import/prometheus?extra_label=env%3Dform",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 204, r.text)
        self.assertEqual(export(self.d, "imp_form"),
                         [{"metric": {"__name__": "imp_form", "env": "form", "job": "a&b=c",
                                      "p": "50%zz"},
                           "values": [1, 2], "timestamps": [1700000000000, 1700000015000]}])

    def test_out_of_order_and_duplicates_counted(self):
        self.assertEqual(post(self.d, b'imp_ooo 1 1700000010000\n').status, 204)
        r = post(self.d, b'imp_ooo 2 1700000000000\nimp_ooo 3 1700000010000\nimp_ooo 1 1700000010000\n')
        self.assertEqual(r.status, 204)
        self.assertEqual((r.headers["X-Samples-Stored"], r.headers["X-Samples-Dropped"]), ("0", "2"))
        st, text = self.d.get_text("/metrics")
        self.assertIn('monitord_store_samples_dropped_total{reason="out_of_order"} 1', text)
        self.assertIn('monitord_store_samples_dropped_total{reason="duplicate"} 1', text)

    def test_bad_selector(self):
        r = self.d.get("/api/v1/export?" + urllib.parse.urlencode({"match[]": "x{"}))
        self.assertEqual(r.status, 400)
        self.assertIn('invalid parameter \\"match[]\\"', r.text)

    def test_scraped_samples_are_stored(self):
        def stored():
            return export(self.d, 'node_load1{job="host"}')
        got = self.d.wait_for(lambda: (lambda g: g if g and len(g[0]["values"]) >= 2 else None)(stored()),
                              what="two scrapes of node_load1 stored")
        self.assertEqual(len(got), 1)
        ts = got[0]["timestamps"]
        self.assertEqual(ts, sorted(ts))
        up = export(self.d, 'up{job="host"}')
        self.assertTrue(all(v == 1 for v in up[0]["values"]))


def heap_trims(d):
    return int(metric(d, "monitord_heap_trims_total"))


class HeapTrim(unittest.TestCase):
    """Memory a large import freed goes back to the system once, after
    imports have been quiet for a second, not after every body."""

    def test_one_trim_after_a_burst_of_large_imports(self):
        d = Daemon(CONF.replace("[proc \"host\"]\ninterval = 1s\n", ""))
        try:
            time.sleep(2.5)
            self.assertEqual(heap_trims(d), 0)
            for n in range(3):
                lines = [b'imp_trim{k="%d"} %d %d\n' % (i % 50, i, 1700000000000 + n * 10**7 + i)
                         for i in range(50000)]
                body = b"".join(lines)
                self.assertGreater(len(body), 1 << 20)
                r = post(d, body)
                self.assertEqual((r.status, r.headers["X-Samples-Stored"]), (204, "50000"))
            # A bad large body frees its memory too.
            r = post(d, body + b"imp_trim{ 1\n")
            self.assertEqual(r.status, 400)
            self.assertEqual(heap_trims(d), 0)
            deadline = time.monotonic() + 20
            while heap_trims(d) == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(heap_trims(d), 1)
            # Nothing freed since: no more trims, and a small body is none.
            r = post(d, b'imp_trim{k="small"} 1 1700000000000\n')
            self.assertEqual(r.status, 204)
            time.sleep(3)
            self.assertEqual(heap_trims(d), 1)
            self.assertEqual(len(export(d, "imp_trim")), 51)
        finally:
            self.assertEqual(d.stop(), 0)


class Crash(unittest.TestCase):
    def test_kill9_keeps_acknowledged_imports(self):
        d = Daemon(CONF)
        n = 0
        for k in range(20):
            body = "".join(f'crash_x{{i="{i}"}} {k} {1700000000000 + k * 1000}\n' for i in range(50))
            self.assertEqual(post(d, body.encode()).status, 204)
            n += 50
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        d.log.close()
        d2 = Daemon.__new__(Daemon)
        d2.__dict__.update(d.__dict__)
        import subprocess
        d2.log = open(os.path.join(d.dir, "stderr2.log"), "w+b")
        d2.proc = subprocess.Popen([os.environ.get("MONITORD_BIN", "monitord"), "-f", "-c", d.conf,
                                    "-d", os.path.join(d.dir, "data")],
                                   stdout=d2.log, stderr=subprocess.STDOUT)
        try:
            d2.wait_healthy()
            got = export(d2, "crash_x")
            self.assertEqual(len(got), 50)
            self.assertEqual(sum(len(g["values"]) for g in got), n)
            self.assertTrue(all(g["values"] == list(range(20)) for g in got))
        finally:
            self.assertEqual(d2.stop(), 0)

    def test_kill9_loses_at_most_flush_interval_of_scrapes(self):
        d = Daemon(CONF)
        d.wait_for(lambda: len((export(d, 'up{job="host"}') or [{"values": []}])[0]["values"]) >= 4,
                   what="4 scrapes")
        before = len(export(d, 'up{job="host"}')[0]["values"])
        # The store's contract: a kill -9 loses at most what was appended
        # since the last completed flush.  The flush in progress now may
        # have begun before the samples just counted; the one after it
        # began after them.
        f0 = flushes(d)
        d.wait_for(lambda: flushes(d) >= f0 + 2, what="two more flushes")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        d.log.close()
        import subprocess
        log = open(os.path.join(d.dir, "stderr2.log"), "w+b")
        d.log = log
        d.proc = subprocess.Popen([os.environ.get("MONITORD_BIN", "monitord"), "-f", "-c", d.conf,
                                   "-d", os.path.join(d.dir, "data")],
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            d.wait_healthy()
            after = export(d, 'up{job="host"}', end="%d" % (time.time() - 0.0))
            kept = len(after[0]["values"])
            # Every sample counted before the last completed flush is kept.
            self.assertGreaterEqual(kept, before)
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    tap.main()
