"""A small deterministic dataset for comparing PromQL answers.

Two hours of 15 s scrapes of a few services: counters with resets and
millisecond jitter, float counters, gauges (negative, NaN, +Inf values),
classic histograms (one with a non-monotonic bucket, one without +Inf),
a series with a gap longer than the 5 minute lookback, series that start
late or stop early, and two metrics whose labels collide once the name is
dropped.  Staleness markers cannot be written in OpenMetrics text, so they
are left to the unit tests.

samples() yields (name, labels dict, value, timestamp ms) in time order."""
import math
import random

T0_MS = 1700000000000
STEP_MS = 15000
N = 480  # two hours

SERVICES = ["api", "web"]
INSTANCES = ["i1", "i2", "i3"]
LE = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]


def samples(seed=42):
    rng = random.Random(seed)
    state = {}

    def counter(key, inc):
        state[key] = state.get(key, 0) + inc
        return state[key]

    for i in range(N):
        base = T0_MS + i * STEP_MS
        for svc in SERVICES:
            for inst in INSTANCES:
                jitter = rng.randint(-5, 5) if svc == "web" else 0
                t = base + jitter
                for method, code, rate in (("GET", "200", 20), ("GET", "500", 1), ("POST", "200", 5)):
                    key = ("req", svc, inst, method, code)
                    if svc == "api" and inst == "i2" and i == 200:
                        state[key] = 0  # a restart: the counter resets
                    v = counter(key, rng.randint(0, 2 * rate))
                    yield ("http_requests_total",
                           {"service": svc, "instance": inst, "method": method, "code": code}, v, t)
                if inst == "i3":
                    continue
                # A histogram: cumulative buckets, _sum, _count.
                n = rng.randint(0, 30)
                obs = [rng.expovariate(3.0) for _ in range(n)]
                cum = 0
                for le in LE:
                    bound = math.inf if le == "+Inf" else float(le)
                    key = ("hist", svc, inst, le)
                    cum_le = sum(1 for o in obs if o <= bound)
                    v = counter(key, cum_le)
                    if svc == "web" and inst == "i2" and le == "0.5" and i % 50 == 7:
                        v = max(0, v - 3)  # a non-monotonic bucket
                    cum = v
                    yield ("http_request_duration_seconds_bucket",
                           {"service": svc, "instance": inst, "le": le}, v, t)
                yield ("http_request_duration_seconds_count",
                       {"service": svc, "instance": inst}, cum, t)
                yield ("http_request_duration_seconds_sum",
                       {"service": svc, "instance": inst},
                       round(counter(("hsum", svc, inst), sum(obs)), 6), t)
        for inst in INSTANCES:
            t = base + 7
            for cpu in ("0", "1"):
                yield ("cpu_usage_percent", {"instance": inst, "cpu": cpu},
                       round(rng.uniform(0, 100), 2), t)
                for mode, share in (("user", 0.3), ("system", 0.1), ("idle", 0.6)):
                    yield ("node_cpu_seconds_total", {"instance": inst, "cpu": cpu, "mode": mode},
                           round(counter(("cpu", inst, cpu, mode), share * 15 + rng.uniform(0, 0.5)), 2), t)
            mem = state.get(("mem", inst), 8e9) + rng.randint(-50000000, 50000000)
            state[("mem", inst)] = mem
            yield ("node_memory_MemAvailable_bytes", {"instance": inst}, mem, t)
            yield ("node_network_receive_bytes_total", {"instance": inst, "device": "eth0"},
                   counter(("net", inst), rng.randint(0, 10 ** 7)), t)
            yield ("up", {"job": "node", "instance": inst}, 0 if inst == "i3" and 100 <= i < 130 else 1, t)
            yield ("node_info", {"instance": inst, "version": "1.%d" % INSTANCES.index(inst)}, 1, t)
        t = base + 3
        yield ("temperature", {"room": "a"}, round(rng.uniform(-10, 30), 1), t)
        yield ("temperature", {"room": "b"}, round(rng.uniform(-10, 30), 1), t)
        if not 100 <= i < 160:  # a 15 minute gap
            yield ("flaky_gauge", {"instance": "i1"}, rng.randint(0, 9), t)
        if i >= 300:
            yield ("late_series", {"x": "1"}, i, t)
        if i < 200:
            yield ("early_series", {"x": "1"}, i * 0.5, t)
        yield ("collide_a", {"x": "1"}, counter("ca", 1), t)
        yield ("collide_b", {"x": "1"}, counter("cb", 2), t)
        yield ("weird", {"kind": "nan"}, math.nan if i % 10 == 0 else i, t)
        yield ("weird", {"kind": "inf"}, math.inf if i % 25 == 0 else -i, t)
        yield ("weird", {"kind": "neg"}, -1.5 * i, t)
        yield ("bad_hist_bucket", {"le": "1"}, counter("bh1", 1), t)
        yield ("bad_hist_bucket", {"le": "2"}, counter("bh2", 2), t)
        yield ("version_info", {"version": "v1.2", "build": "abc-12"}, 1, t)


def fmt_value(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if float(v) == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def fmt_labels(labels):
    return ",".join('%s="%s"' % (k, v) for k, v in sorted(labels.items()))


def write_files(prom_path, om_path, seed=42):
    """The text format with ms timestamps (for monitord's import) and
    OpenMetrics with second timestamps (for promtool)."""
    with open(prom_path, "w") as p, open(om_path, "w") as o:
        for name, labels, v, t in samples(seed):
            line = "%s{%s} %s" % (name, fmt_labels(labels), fmt_value(v))
            p.write("%s %d\n" % (line, t))
            o.write("%s %d.%03d\n" % (line, t // 1000, t % 1000))
        o.write("# EOF\n")
