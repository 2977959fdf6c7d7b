#!/usr/bin/env python3
"""make bench: monitord's storage figures beside Prometheus's and
VictoriaMetrics's, measured on the same data in the same run.

For each dataset (node_real from ../shared/bench, and the synthetic "busy
service" set generated with its gen_dataset.py) it
  - imports the file into a fresh monitord over HTTP (/api/v1/import/prometheus)
    and times it end to end (samples/s),
  - reads the RSS after the import (anonymous memory and mapped data.mdb
    pages apart) and divides the growth by the series,
  - times the dataset's queries (../shared/bench/queries/node.txt or
    synth.txt) as range queries the way peers_lib.py's `query` does: start
    and end the data's first and last second, about 1440 steps, 1 cold run
    then QUERY_RUNS timed ones (default 15), the median,
  - on the synthetic set, also times bench/queries/dashboard.txt (a
    dashboard's 20 panel queries) the same way and prints their total,
  - stops monitord cleanly and measures its data directory (bytes/sample),
  - runs bench/store_bench (storage-only append) and bench/codec_bench
    (decode samples/s per core),
  - measures memory per active series at scale: the synthetic set's 135
    minutes with 1,000 and with 10,000 series imported into fresh daemons;
    the growth between the two over the 9,000 series added is the cost of
    one more series, without the fixed costs that a small count divides.
    135 minutes of 15 s scrapes is 540 samples: each open chunk's tail then
    holds 60 of its 120 samples, the average over time (2 h would leave
    every tail empty and the figure a third too low),
then runs ../shared/bench/peers.sh on the same files and prints tables
with the ratios monitord/peer: ingest and size, then q1..q4 latencies.
The peers' queries are timed as often as monitord's (QUERY_RUNS), and
their medians are read at full precision from peers.sh's JSON.
Timings vary up to 2x on a shared machine; disk sizes are stable.

Environment: SHARED (default ../shared or $MONITORD_SRCDIR/../shared),
SYNTH_DURATION (default 2h; 24h is the issue's figure), SKIP_PEERS=1,
QUERY_RUNS (default 15: a query of a few tenths of a millisecond varies
by a third from run to run with a client that connects each time, and
the median of 7 moved the node_real ratios by 0.1), SKIP_SCALE=1 (no 10,000-series import)."""
import argparse
import gzip
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request

QUERY_IDS = ("q1", "q2", "q3", "q4")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    """{"VmRSS", "RssAnon", "RssFile"} in kB: RssAnon is the daemon's own
    memory, RssFile mostly data.mdb pages mapped in (page cache the kernel
    can take back)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k = line.split(":", 1)[0]
            if k in ("VmRSS", "RssAnon", "RssFile"):
                out[k] = int(line.split()[1])
    return out


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for n in files:
            total += os.stat(os.path.join(root, n)).st_blocks * 512
    return total


def count(path):
    """Samples, series, and the first and last timestamp (ms)."""
    samples, series, mint, maxt = 0, set(), None, None
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            samples += 1
            key, _, ts = line.rsplit(" ", 2)
            series.add(key)
            ts = int(ts)
            mint = ts if mint is None or ts < mint else mint
            maxt = ts if maxt is None or ts > maxt else maxt
    return samples, len(series), mint, maxt


def queries_file(shared, name):
    """The peers' query set for a dataset (as peers.sh picks it)."""
    if name.startswith("synth"):
        return os.path.join(shared, "bench", "queries", "synth.txt")
    if name.startswith("node"):
        return os.path.join(shared, "bench", "queries", "node.txt")
    return None


def time_queries(url, qfile, mint, maxt, runs):
    """{id: median ms, or None on an error}, as peers_lib.py's query."""
    if not qfile:
        return {}
    start = math.ceil(mint / 1000.0)
    end = math.floor(maxt / 1000.0)
    step = max(1, round((end - start) / 1440.0))
    out = {}
    for line in open(qfile):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        qid, q = line.split("\t", 1)
        params = {"query": q, "start": start, "end": end, "step": step}
        qurl = url + "/api/v1/query_range?" + urllib.parse.urlencode(params)
        times, ok = [], True
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(qurl, timeout=300) as r:
                    body = r.read()
            except OSError:
                ok = False
                break
            times.append((time.perf_counter() - t0) * 1000.0)
            ok = ok and json.loads(body).get("status") == "success"
        out[qid] = statistics.median(times[1:]) if ok else None
    return out


def heap_trims(url):
    """monitord_heap_trims_total, or None from a daemon without it."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("monitord_heap_trims_total "):
                return float(line.split()[1])
    return None


def settle(url):
    """Wait until the daemon has handed an import's freed buffers back to
    the system, which it does once imports have been quiet for a second:
    the memory it keeps is what the figures are about."""
    first = heap_trims(url)
    deadline = time.monotonic() + 10
    while first is not None and heap_trims(url) == first and time.monotonic() < deadline:
        time.sleep(0.1)


def import_monitord(binary, path, samples, series, qfile=None, mint=None,
                    maxt=None, runs=5, dashboard=None):
    tmp = tempfile.mkdtemp(prefix="monitord-bench-")
    port = free_port()
    conf = os.path.join(tmp, "monitord.conf")
    with open(conf, "w") as f:
        f.write(f"[server]\nlisten = 127.0.0.1:{port}\nmax_request_size = 64MB\n"
                f"retention = 100y\n[storage]\nflush_interval = 5s\n")
    log = open(os.path.join(tmp, "log"), "w")
    p = subprocess.Popen([binary, "-f", "-c", conf, "-d", os.path.join(tmp, "data")],
                         stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    base_rss = rss_kb(p.pid)
    op = gzip.open if path.endswith(".gz") else open
    # Bodies of about 16 MB cut at line ends, as a backfill script sends.
    bodies = []
    with op(path, "rb") as f:
        while True:
            chunk = f.read(16 << 20)
            if not chunk:
                break
            chunk += f.readline()
            bodies.append(chunk)
    stored = 0
    t0 = time.monotonic()
    for body in bodies:
        req = urllib.request.Request(url + "/api/v1/import/prometheus", data=body,
                                     method="POST")
        with urllib.request.urlopen(req, timeout=600) as r:
            stored += int(r.headers.get("X-Samples-Stored", "0"))
    secs = time.monotonic() - t0
    del bodies
    settle(url)
    rss = rss_kb(p.pid)
    queries = time_queries(url, qfile, mint, maxt, runs) if qfile else {}
    panels = time_queries(url, dashboard, mint, maxt, runs) if dashboard else {}
    p.send_signal(signal.SIGTERM)
    p.wait(60)
    log.close()
    disk = du(os.path.join(tmp, "data"))
    shutil.rmtree(tmp)
    return {"samples": samples, "series": series, "stored": stored, "import_s": secs,
            "samples_per_s": samples / secs, "disk": disk, "b_per_sample": disk / samples,
            "rss_mb": rss["VmRSS"] / 1024, "anon_mb": rss["RssAnon"] / 1024,
            "file_mb": rss["RssFile"] / 1024,
            "anon_per_series_b": (rss["RssAnon"] - base_rss["RssAnon"]) * 1024 / series,
            "queries": queries, "dashboard": panels}


def tool(build, name, args):
    exe = os.path.join(build, "bench", name)
    out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=1800)
    return out.stdout + out.stderr


def peers(shared, files, runs):
    out = tempfile.mkdtemp(prefix="monitord-peers-")
    env = dict(os.environ, OUT=out, RUNS=str(runs), SKIP_REF="1")
    r = subprocess.run([os.path.join(shared, "bench", "peers.sh"), *files], env=env,
                       capture_output=True, text=True, timeout=3600)
    rows = {}
    tsv = os.path.join(out, "results.tsv")
    if os.path.exists(tsv):
        with open(tsv) as f:
            head = f.readline().rstrip("\n").split("\t")
            for line in f:
                row = dict(zip(head, line.rstrip("\n").split("\t")))
                rows[(row["system"], row["dataset"])] = row
    # results.tsv rounds the medians to 0.1 ms, which is a third of a small
    # query; the JSON beside it has them to 0.01 ms.
    for (sysname, name), row in rows.items():
        js = os.path.join(out, name, "prom_queries.json" if sysname.startswith("prom")
                          else "vm_queries.json")
        try:
            for q in json.load(open(js))["queries"]:
                if q.get("ok"):
                    row[q["id"] + "_ms"] = str(q["median_ms"])
        except (OSError, ValueError, KeyError):
            pass
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
    shutil.rmtree(out, ignore_errors=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    shared = os.environ.get("SHARED") or os.path.join(a.src, "..", "shared")
    if not os.path.isdir(os.path.join(shared, "bench")):
        print(f"bench: no {shared}/bench; set SHARED", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="monitord-bench-data-")
    node = os.path.join(work, "node_real.prom")
    with gzip.open(os.path.join(shared, "bench", "data", "node_real.prom.gz"), "rb") as fi, \
            open(node, "wb") as fo:
        shutil.copyfileobj(fi, fo)
    dur = os.environ.get("SYNTH_DURATION", "2h")
    synth = os.path.join(work, f"synth_1000x{dur}.prom")
    end = open(os.path.join(shared, "bench", "data", "END")).read().strip()
    subprocess.run([sys.executable, os.path.join(shared, "bench", "gen_dataset.py"),
                    "--series", "1000", "--duration", dur, "--end", end, "--out", synth],
                   check=True, capture_output=True)
    results = {}
    qruns = int(os.environ.get("QUERY_RUNS", "15"))
    for path in (node, synth):
        name = os.path.basename(path)[:-5]
        samples, series, mint, maxt = count(path)
        dash = os.path.join(a.src, "bench", "queries", "dashboard.txt") \
            if name.startswith("synth") else None
        m = import_monitord(a.bin, path, samples, series,
                            queries_file(shared, name), mint, maxt, qruns, dash)
        m["store_bench"] = tool(a.build, "store_bench", [path]).strip()
        m["codec_bench"] = tool(a.build, "codec_bench", ["-n", "480", path]).strip()
        results[name] = m
        print(f"== {name}: {samples} samples, {series} series")
        print(f"monitord import: {m['import_s']:.2f} s, {m['samples_per_s']/1e3:.0f} k samples/s, "
              f"{m['b_per_sample']:.3f} B/sample on disk, RSS {m['rss_mb']:.1f} MB "
              f"({m['anon_mb']:.1f} anonymous, {m['file_mb']:.1f} data.mdb mapped), "
              f"{m['anon_per_series_b']:.0f} B anonymous per series")
        print("monitord queries (median ms): " + ", ".join(
            f"{k} {fmt_ms(m['queries'].get(k))}" for k in QUERY_IDS))
        if m["dashboard"]:
            d = m["dashboard"]
            print(f"monitord dashboard ({len(d)} panels, median ms each, one "
                  f"after the other): total "
                  f"{'ERR' if None in d.values() else f'{sum(d.values()):.1f}'}; " +
                  ", ".join(f"{k} {fmt_ms(v)}" for k, v in d.items()))
        print(m["store_bench"])
        print(m["codec_bench"])
        sys.stdout.flush()
    if not os.environ.get("SKIP_SCALE"):
        scale(a.bin, shared, work, end)
    if os.environ.get("SKIP_PEERS"):
        shutil.rmtree(work)
        return 0
    rows = peers(shared, [node, synth], qruns)
    print("\n| dataset | system | samples/s in | B/sample | RSS after import, MB "
          "| ratio monitord/peer (B/sample) | ratio (samples/s) | ratio (RSS) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in results.items():
        print(f"| {name} | monitord | {m['samples_per_s']/1e3:.0f} k | {m['b_per_sample']:.3f} "
              f"| {m['rss_mb']:.1f} | | | |")
        for sysname in ("prometheus(promtool)", "victoria-metrics"):
            row = rows.get((sysname, name))
            if not row:
                print(f"| {name} | {sysname} | (not measured) | | | | | |")
                continue
            sps, bps = float(row["samples/s"]), float(row["B/sample"])
            try:
                prss = float(row["RSS_MB"])
            except (KeyError, ValueError):
                prss = None
            prss_s = "-" if prss is None else f"{prss:.1f}"
            ratio_s = f"{m['rss_mb'] / prss:.2f}" if prss else ""
            print(f"| {name} | {sysname} | {sps/1e3:.0f} k | {bps:.3f} | {prss_s} | "
                  f"{m['b_per_sample']/bps:.2f} | {m['samples_per_s']/sps:.2f} | {ratio_s} |")
    print("\n| dataset | query | monitord ms | prometheus ms | ratio monitord/prometheus "
          "| victoria-metrics ms | ratio monitord/victoria-metrics |")
    print("|---|---|---|---|---|---|---|")
    for name, m in results.items():
        for k in QUERY_IDS:
            mine = m["queries"].get(k)
            cells = [name, k, fmt_ms(mine)]
            for sysname in ("prometheus(promtool)", "victoria-metrics"):
                row = rows.get((sysname, name))
                cell = row.get(f"{k}_ms", "-") if row else "-"
                try:
                    peer = float(cell)
                except ValueError:
                    # "-": not measured; "ERR": the peer failed it.
                    cells += [cell, ""]
                    continue
                cells.append(fmt_ms(peer))
                cells.append(f"{mine / peer:.2f}" if mine is not None and peer else "")
            print("| " + " | ".join(cells) + " |")
    shutil.rmtree(work)
    return 0


def scale(binary, shared, work, end):
    """Memory per active series without the fixed costs: 135 minutes of the
    synthetic set with 1,000 and with 10,000 series, each imported into a
    fresh daemon, and the growth between them over the series added."""
    got = {}
    for n in (1000, 10000):
        path = os.path.join(work, f"scale_{n}x135m.prom")
        subprocess.run([sys.executable, os.path.join(shared, "bench", "gen_dataset.py"),
                        "--series", str(n), "--duration", "135m", "--end", end,
                        "--out", path], check=True, capture_output=True)
        samples, series, _, _ = count(path)
        got[n] = (series, import_monitord(binary, path, samples, series))
        os.unlink(path)
    (s1, m1), (s2, m2) = got[1000], got[10000]
    added = s2 - s1
    print(f"== memory per active series (synthetic 135 min, {s1} and {s2} series)")
    for s, m in ((s1, m1), (s2, m2)):
        print(f"monitord daemon, {s} series: RSS {m['rss_mb']:.1f} MB "
              f"({m['anon_mb']:.1f} anonymous, {m['file_mb']:.1f} data.mdb mapped)")
    print(f"each series added: "
          f"{(m2['anon_mb'] - m1['anon_mb']) * 1048576 / added:.0f} B anonymous, "
          f"{(m2['file_mb'] - m1['file_mb']) * 1048576 / added:.0f} B data.mdb mapped, "
          f"{(m2['rss_mb'] - m1['rss_mb']) * 1048576 / added:.0f} B RSS in all")
    sys.stdout.flush()


def fmt_ms(x):
    if x is None:
        return "ERR"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


if __name__ == "__main__":
    sys.exit(main())
