#!/usr/bin/env python3
"""scrape_bench: what scraping costs monitord, in CPU.

Serves one static /metrics page shaped like node_exporter's (HELP and TYPE
lines, cpu/mode, device and mountpoint labels, a histogram) from a small
server on 127.0.0.1, starts the built monitord with N [http] targets
scraping it at a short interval, and reads the daemon's CPU time from
/proc/PID/stat over a measuring window.  Prints CPU seconds per 1,000
scraped samples, per scrape, and how many targets of this size one core
sustains at a 15 s interval.

    bench/scrape_bench.py [--bin build/monitord] [--targets 50]
        [--series 800] [--interval 1s] [--seconds 20] [--gzip]

Not a test: the figures depend on the machine.  Until the store is wired
in, they cover the collection (HTTP, gzip, parsing, labelling), not the
writes."""
import argparse
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLK_TCK = os.sysconf("SC_CLK_TCK")


def node_like_page(series):
    """A text-format page of about SERIES samples, like node_exporter's."""
    out = []
    n = 0

    def fam(name, typ, help_text):
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {typ}")

    modes = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"]
    cpus = max(1, series // 40)
    fam("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.")
    for c in range(cpus):
        for i, m in enumerate(modes):
            out.append(f'node_cpu_seconds_total{{cpu="{c}",mode="{m}"}} {123456.78 + c * 10 + i:.2f}')
            n += 1
    devs = [f"eth{i}" for i in range(max(1, series // 100))]
    for metric in ("receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets",
                   "receive_errs", "transmit_errs", "receive_drop", "transmit_drop"):
        fam(f"node_network_{metric}_total", "counter", f"Network device statistic {metric}.")
        for d in devs:
            out.append(f'node_network_{metric}_total{{device="{d}"}} {987654321 + len(d)}')
            n += 1
    mounts = [f"/srv/data{i}" for i in range(max(1, series // 80))]
    for metric in ("avail_bytes", "free_bytes", "size_bytes", "files", "files_free"):
        fam(f"node_filesystem_{metric}", "gauge", f"Filesystem {metric}.")
        for i, m in enumerate(mounts):
            out.append(f'node_filesystem_{metric}{{device="/dev/sd{chr(97 + i % 26)}1",'
                       f'fstype="ext4",mountpoint="{m}"}} {5.36870912e+10 + i}')
            n += 1
    fam("http_request_duration_seconds", "histogram", "Request latency.")
    for h in range(max(1, series // 60)):
        acc = 0
        for le in ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"):
            acc += 7
            out.append(f'http_request_duration_seconds_bucket{{handler="/api/{h}",le="{le}"}} {acc}')
            n += 1
        out.append(f'http_request_duration_seconds_sum{{handler="/api/{h}"}} 12.5')
        out.append(f'http_request_duration_seconds_count{{handler="/api/{h}"}} {acc}')
        n += 2
    k = 0
    while n < series:
        fam(f"node_misc_metric_{k}", "gauge", "Filler gauge.")
        out.append(f"node_misc_metric_{k} {k * 1.5}")
        n += 1
        k += 1
    return ("\n".join(out) + "\n").encode(), n


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024    # every target may connect at once


class Page(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        srv = self.server
        body, enc = srv.plain, None
        if srv.use_gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            body, enc = srv.gz, "gzip"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        if enc:
            self.send_header("Content-Encoding", enc)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK   # utime, stime


def targets(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/targets", timeout=10) as r:
        return json.loads(r.read())["data"]["targets"]


def main():
    ap = argparse.ArgumentParser(description="CPU cost of scraping in monitord")
    ap.add_argument("--bin", default=os.environ.get("MONITORD_BIN", "build/monitord"))
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--series", type=int, default=800)
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--gzip", action="store_true", help="serve the page gzip-compressed")
    a = ap.parse_args()

    plain, nsamples = node_like_page(a.series)
    httpd = Server(("127.0.0.1", 0), Page)
    httpd.plain, httpd.gz, httpd.use_gzip = plain, gzip.compress(plain, 6), a.gzip
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    page_port = httpd.server_address[1]

    tmp = tempfile.mkdtemp(prefix="scrape-bench-")
    port = free_port()
    conf = [f"[server]\nlisten = 127.0.0.1:{port}\n"]
    for i in range(a.targets):
        conf.append(f'[http "t{i}"]\nscrape = http://127.0.0.1:{page_port}/metrics?t={i}\n'
                    f"interval = {a.interval}\n")
    path = os.path.join(tmp, "monitord.conf")
    with open(path, "w") as f:
        f.write("\n".join(conf))
    log = open(os.path.join(tmp, "log"), "wb")
    proc = subprocess.Popen([a.bin, "-f", "-c", path, "-d", os.path.join(tmp, "data")],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while True:
            try:
                t = targets(port)
                if all(x["runs"] >= 2 for x in t):
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                sys.exit("monitord did not start scraping; see " + log.name)
            time.sleep(0.2)
        runs0 = {x["job"]: x["runs"] for x in targets(port)}
        cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(a.seconds)
        cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
        t1 = targets(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        httpd.shutdown()
        log.close()

    bad = [x for x in t1 if x["health"] != "up"]
    for x in bad[:3]:
        print(f"down: {x['job']}: {x['lastError']}")
    scrapes = sum(x["runs"] - runs0[x["job"]] for x in t1)
    samples = sum((x["runs"] - runs0[x["job"]]) * x["lastSamples"] for x in t1)
    cpu = cpu1 - cpu0
    wall = wall1 - wall0
    per_scrape = cpu / scrapes
    print(f"page: {nsamples} samples, {len(plain)} bytes"
          f"{f', {len(httpd.gz)} gzipped' if a.gzip else ''}")
    print(f"targets: {a.targets} every {a.interval}; window {wall:.1f} s; "
          f"{scrapes} scrapes, {samples} samples; targets down: {len(bad)}")
    print(f"monitord CPU: {cpu:.2f} s ({100 * cpu / wall:.1f}% of one core)")
    print(f"CPU per 1,000 samples: {1000 * cpu / samples * 1000:.3f} ms")
    print(f"CPU per scrape: {per_scrape * 1000:.3f} ms")
    print(f"samples per CPU second: {samples / cpu:,.0f}")
    print(f"targets of this size one core sustains at 15 s: {15 / per_scrape:,.0f}")
    shutil.rmtree(tmp)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
