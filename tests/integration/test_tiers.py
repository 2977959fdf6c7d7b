"""Queries over HTTP read the 5m rollups where raw retention deleted the
samples: a daemon with `retention = 1h` gets two and a half days of a
counter a minute through the import API, its first maintenance run (60 s
after the start) rolls up the complete days and deletes the raw chunks
older than an hour, and the PromQL API still answers for the days before,
from the buckets (monitord(8), "Queries over rolled-up data")."""
import json
import os
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
retention = 1h

[storage]
flush_interval = 1s
"""

DAY = 86400


def query(d, path, **params):
    r = d.get(path + "?" + urllib.parse.urlencode(params))
    assert r.status == 200, (r.status, r.text)
    return json.loads(r.text)["data"]["result"]


def meta(d, path, **params):
    r = d.get(path + "?" + urllib.parse.urlencode(params))
    assert r.status == 200, (r.status, r.text)
    return json.loads(r.text)["data"]


class Tiers(unittest.TestCase):
    def test_old_ranges_read_the_5m_tier(self):
        d = Daemon(CONF)
        try:
            now = int(time.time())
            t0 = (now // DAY - 2) * DAY     # two days ago, 00:00 UTC
            n = (now - 120 - t0) // 60
            body = "".join("tier_c %d %d\n" % (i, (t0 + 60 * i) * 1000) for i in range(n))
            r = d.get("/api/v1/import/prometheus", method="POST", data=body.encode())
            self.assertEqual(r.status, 204, r.text)
            self.assertEqual(r.headers["X-Samples-Stored"], str(n))
            noon = t0 + DAY // 2

            # Raw data answers until the first maintenance run.
            self.assertEqual(query(d, "/api/v1/query", query="tier_c", time=noon + 120)[0]["value"],
                             [noon + 120, "722"])

            def raw_gone():
                r = d.get("/api/v1/export?" + urllib.parse.urlencode(
                    {"match[]": "tier_c", "start": t0, "end": t0 + DAY}))
                return r.status == 200 and r.text.strip() == ""
            d.wait_for(raw_gone, timeout=120, what="retention to delete the raw chunks")

            # The bucket [11:55, 12:00) at 11:59:59.999, its last value
            # (minute 719), two minutes later.
            self.assertEqual(query(d, "/api/v1/query", query="tier_c", time=noon + 120)[0]["value"],
                             [noon + 120, "719"])
            self.assertEqual(query(d, "/api/v1/query", query="timestamp(tier_c)",
                                   time=noon + 120)[0]["value"], [noon + 120, "%d.999" % (noon - 1)])
            # [11:00, 12:00]: the 12 buckets of 11:00 to 11:55, of 5 samples.
            self.assertEqual(query(d, "/api/v1/query", query="count_over_time(tier_c[1h])",
                                   time=noon)[0]["value"], [noon, "60"])
            self.assertEqual(query(d, "/api/v1/query", query="max_over_time(tier_c[1h])",
                                   time=noon)[0]["value"], [noon, "719"])
            self.assertEqual(query(d, "/api/v1/query", query="min_over_time(tier_c[1h])",
                                   time=noon)[0]["value"], [noon, "660"])
            # Minutes 660..719: their sum over their count.
            self.assertEqual(query(d, "/api/v1/query", query="avg_over_time(tier_c[1h])",
                                   time=noon)[0]["value"], [noon, "689.5"])
            # A range over the first day: a point every 5 minutes, as the
            # bucket of the step before gives it.
            res = query(d, "/api/v1/query_range", query="tier_c", start=t0 + 3600,
                        end=t0 + 7200, step=300)
            self.assertEqual(res[0]["values"],
                             [[t0 + 3600 + 300 * k, str(59 + 5 * k)] for k in range(13)])
            # The series, label and value lists see the series where only
            # buckets are left, as queries do, and nothing before them.
            day1 = {"start": t0, "end": t0 + DAY}
            before = {"start": t0 - DAY, "end": t0 - 1}
            for rng, series, names in ((day1, [{"__name__": "tier_c"}], ["__name__"]),
                                       (before, [], [])):
                self.assertEqual(meta(d, "/api/v1/series", **{"match[]": "tier_c"}, **rng), series)
                self.assertEqual(meta(d, "/api/v1/labels", **rng), names)
                self.assertEqual(meta(d, "/api/v1/labels", **{"match[]": "tier_c"}, **rng), names)
                self.assertEqual(meta(d, "/api/v1/label/__name__/values", **rng),
                                 [s["__name__"] for s in series])
            # The newest hour is raw as before.
            last = t0 + 60 * (n - 1)
            self.assertEqual(query(d, "/api/v1/query", query="tier_c", time=last)[0]["value"],
                             [last, str(n - 1)])
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    tap.main()
