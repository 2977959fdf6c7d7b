#!/usr/bin/env python3
"""Query benchmark: import a dataset into a fresh monitord and time queries.

  bench/query_bench.py [--bin build/monitord] [--runs 5] --queries Q.txt DATA.prom[.gz]

DATA is Prometheus text with millisecond timestamps, one sample a line (the
format of /work/shared/bench: gen_dataset.py, node_real.prom.gz).  Q.txt has
"id<TAB>query" lines.  Each query runs as a range query over the whole
dataset at about 1440 steps, as the peer benchmark runs them: one cold run,
then RUNS timed runs; the median is printed with the result's size, and
last the sum of the medians: for bench/queries/dashboard.txt over the
synthetic set (gen_dataset.py --series 1000 --duration 24h), the time a
dashboard's 20 panels take one after the other.  The daemon listens on
127.0.0.1 on a free port, keeps its data in a temporary directory and is
stopped by its PID."""
import argparse
import gzip
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

CHUNK = 24 * 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.status


def get(url):
    with urllib.request.urlopen(url, timeout=600) as r:
        return r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "monitord"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("data")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="monitord-qbench-")
    port = free_port()
    conf = os.path.join(tmp, "monitord.conf")
    with open(conf, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1:%d\nretention = 50y\nmax_request_size = 32MB\n" % port)
    log = open(os.path.join(tmp, "monitord.log"), "w")
    proc = subprocess.Popen([a.bin, "-f", "-c", conf, "-d", os.path.join(tmp, "data")],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = "http://127.0.0.1:%d" % port
    try:
        for _ in range(100):
            try:
                get(base + "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        opener = gzip.open if a.data.endswith(".gz") else open
        mint, maxt, n = None, None, 0
        t0 = time.perf_counter()
        with opener(a.data, "rb") as f:
            while True:
                body = f.read(CHUNK)
                if not body:
                    break
                rest = f.readline()
                body += rest
                for line in body.splitlines():
                    if line and not line.startswith(b"#"):
                        ts = int(line.rsplit(b" ", 1)[1])
                        mint = ts if mint is None or ts < mint else mint
                        maxt = ts if maxt is None or ts > maxt else maxt
                        n += 1
                post(base + "/api/v1/import/prometheus", body)
        ingest = time.perf_counter() - t0
        start = math.ceil(mint / 1000.0)
        end = math.floor(maxt / 1000.0)
        step = max(1, round((end - start) / 1440.0))
        print("imported %d samples in %.1f s (%.0f samples/s); range %d..%d step %d" % (
            n, ingest, n / ingest, start, end, step))
        results = []
        for line in open(a.queries):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            qid, q = line.split("\t", 1)
            url = base + "/api/v1/query_range?" + urllib.parse.urlencode(
                {"query": q, "start": start, "end": end, "step": step})
            times, body = [], None
            for i in range(a.runs + 1):
                t = time.perf_counter()
                b = get(url)
                times.append((time.perf_counter() - t) * 1000)
                body = body or json.loads(b)
            ok = body["status"] == "success"
            nser = len(body["data"]["result"]) if ok else 0
            npts = sum(len(s["values"]) for s in body["data"]["result"]) if ok else 0
            med = statistics.median(times[1:])
            results.append({"id": qid, "query": q, "ok": ok, "cold_ms": round(times[0], 2),
                            "median_ms": round(med, 2), "series": nser, "points": npts})
            print("  %-4s %-72s cold %7.1f ms  median %7.1f ms  series=%d points=%d" % (
                qid, q[:72], times[0], med, nser, npts))
        print("  all  %-72s cold %7.1f ms  median %7.1f ms" % (
            "(%d queries, one after the other)" % len(results),
            sum(r["cold_ms"] for r in results), sum(r["median_ms"] for r in results)))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"samples": n, "start": start, "end": end, "step": step,
                           "queries": results}, f, indent=1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
