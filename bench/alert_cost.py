#!/usr/bin/env python3
"""What alert rules cost the daemon per rule and evaluation, on the real
PromQL engine, with SERIES series in the store.

  bench/alert_cost.py [SERIES] [RULES[:SHAPE] ...]   (from the source tree
                                   after a build; or set MONITORD_BIN)

Default: 1000 series, 10 and 100 rules.  For each rule count a daemon
starts with evaluation_interval = 1s and no receiver; SERIES gauges and
SERIES counters, 10 minutes of history at 15 s steps (so that every [5m]
window is full), are imported over /api/v1/import/prometheus.  The rules
cycle through three shapes the example configuration uses, each reading
all SERIES series of one kind:

  threshold   bench_load{job="bench"} > 50          (half the series, all
                                                     pending: for = 1h)
  aggregate   sum(rate(bench_requests_total{job="bench"}[5m])) > 1
  per series  rate(bench_requests_total{job="bench"}[5m]) > 0.5

(RULES:SHAPE, SHAPE 0 to 2, makes every rule that one shape) and the
group's monitord_rule_evaluation_duration_seconds is read from
/metrics once per evaluation, 20 times.  Printed per rule count: the
median and largest group evaluation time, and the median divided by the
number of rules."""
import os
import statistics
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
os.environ.setdefault("MONITORD_BIN", os.path.join(TOP, "build", "monitord"))
os.environ.setdefault("MONITORD_SRCDIR", TOP)

from daemon import Daemon  # noqa: E402

SHAPES = (
    'bench_load{job="bench"} > 50',
    'sum(rate(bench_requests_total{job="bench"}[5m])) > 1',
    'rate(bench_requests_total{job="bench"}[5m]) > 0.5',
)
READINGS = 20


def config(nrules, shape):
    out = ["[server]", "listen = 127.0.0.1:{port}", "evaluation_interval = 1s", ""]
    for i in range(nrules):
        out += [f'[alert "bench-{i}"]', f"expr = {SHAPES[i % len(SHAPES) if shape is None else shape]}",
                "for = 1h", "summary = {{ $value }}", ""]
    return "\n".join(out)


def history(nseries):
    """SERIES gauges and counters over the last 10 minutes, as text."""
    now = int(time.time() * 1000)
    lines = []
    for step in range(41):
        t = now - (40 - step) * 15000
        for i in range(nseries):
            lines.append(f'bench_load{{job="bench",instance="i{i}"}} {i % 100} {t}')
            lines.append(f'bench_requests_total{{job="bench",instance="i{i}"}} '
                         f'{step * 15 * (i % 2)} {t}')
    return ("\n".join(lines) + "\n").encode()


def durations(d):
    """The rule groups' last evaluation times from /metrics."""
    st, text = d.get_text("/metrics")
    out = {}
    for line in text.splitlines():
        if line.startswith("monitord_rule_evaluation_duration_seconds{"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def measure(nseries, nrules, shape):
    d = Daemon(config(nrules, shape))
    try:
        r = d.get("/api/v1/import/prometheus", method="POST", data=history(nseries),
                  timeout=60)
        if r.status != 204:
            raise SystemExit(f"import failed: {r.status} {r.text}")
        time.sleep(2)           # the first evaluations see all the data
        got = []
        for _ in range(READINGS):
            time.sleep(1.0)
            got.append(sum(durations(d).values()))
        alerts = d.get("/api/v1/alerts").text.count('"state":"pending"')
    finally:
        d.stop()
    med = statistics.median(got)
    kind = "mixed" if shape is None else f"shape {shape}"
    print(f"{nseries} series, {nrules:4d} rules ({kind}): evaluation median {med * 1e3:8.2f} ms, "
          f"max {max(got) * 1e3:8.2f} ms, per rule {med / nrules * 1e3:7.3f} ms "
          f"({alerts} alerts pending)", flush=True)


def main():
    nseries = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for arg in sys.argv[2:] or ["10", "100"]:
        n, _, shape = arg.partition(":")
        measure(nseries, int(n), int(shape) if shape else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
