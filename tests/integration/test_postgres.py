"""The PostgreSQL collector against real PostgreSQL servers and against
servers that misbehave, driven through tests/pg_probe (the collector's
engine on a real event loop, with the core's deadline and cancel).

Needs PostgreSQL's server binaries (Debian: postgresql).  Without them the
tests are skipped, unless $CI is set: then it is a failure."""
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import fakepg    # noqa: E402
import pgserver  # noqa: E402
import tap       # noqa: E402

BIN = os.environ.get("MONITORD_BIN", os.path.abspath("monitord"))
PROBE = os.environ.get("PG_PROBE", os.path.join(os.path.dirname(BIN), "tests", "pg_probe"))

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


class Run:
    def __init__(self, head, lines, end):
        m = re.match(r"run (\d+) (ok|error|timeout)(?:: (.*))?$", head)
        if not m:
            raise AssertionError(f"bad run line {head!r}")
        self.status, self.message = m.group(2), m.group(3) or ""
        self.samples = {}
        for line in lines:
            m = SAMPLE.match(line)
            if not m:
                raise AssertionError(f"bad sample line {line!r}")
            labels = frozenset((k, unescape(v)) for k, v in LABEL.findall(m.group(2) or ""))
            self.samples[(m.group(1), labels)] = float(m.group(3))
        self.end = dict(kv.split("=", 1) for kv in end.split()[1:])
        self.round_trips = int(self.end["round_trips"])
        self.connects = int(self.end["connects"])
        self.heartbeats = int(self.end["heartbeats"])

    def series(self, name):
        """{frozenset(labels): value} of metric NAME."""
        return {labels: v for (n, labels), v in self.samples.items() if n == name}

    def get(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())))

    def names(self):
        return {n for n, _ in self.samples}

    def datnames(self, name):
        return {dict(labels)["datname"] for labels in self.series(name)}


class Probe:
    def __init__(self, conninfo, *args):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([PROBE, *args, conninfo], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.first = self._line(10)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _line(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"pg_probe said nothing for {timeout}s; stderr: {self.stderr()}")
        if line is None:
            raise AssertionError(f"pg_probe exited ({self.proc.wait()}); stderr: {self.stderr()}")
        return line

    def run(self, timeout=30):
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        head = self._line(timeout)
        body = []
        while True:
            line = self._line(timeout)
            if line.startswith("end "):
                return Run(head, body, line)
            body.append(line)

    def run_until(self, pred, timeout=20, what="condition"):
        deadline = time.time() + timeout
        r = None
        while time.time() < deadline:
            r = self.run()
            if pred(r):
                return r
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; last run: "
                             f"{r.status} {r.message} {sorted(r.samples.items(), key=str)[:40]}")

    def stderr(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("pg_probe did not quit")
        return self.proc.returncode


def make_server(**kw):
    try:
        return pgserver.PgServer(**kw)
    except pgserver.Missing as e:
        if os.environ.get("CI"):
            raise
        raise unittest.SkipTest(str(e))


def password_file(text):
    fd, path = tempfile.mkstemp(prefix="monitord-pgpass-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def activity_key(datname, state, usename, app):
    return frozenset({"datname": datname, "state": state, "usename": usename,
                      "application_name": app}.items())


class Server(unittest.TestCase):
    """A server with pg_stat_statements preloaded, a small connection limit
    and no autovacuum (whose transactions would move the counters)."""

    @classmethod
    def setUpClass(cls):
        cls.pg = make_server(settings={
            "max_connections": 20, "superuser_reserved_connections": 2,
            "autovacuum": "off", "shared_preload_libraries": "pg_stat_statements"},
            password_roles=("monitor",))
        for sql in ("CREATE DATABASE shop", "CREATE DATABASE mes",
                    "CREATE DATABASE stmts", "CREATE DATABASE \"o'brien\"",
                    "CREATE DATABASE sizes",
                    "CREATE ROLE monitor LOGIN PASSWORD 'right-pass-5791' IN ROLE pg_monitor",
                    "CREATE EXTENSION pg_stat_statements"):
            cls.pg.psql(sql)

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()

    def setUp(self):
        self.sessions = []
        self.probes = []

    def tearDown(self):
        for p in self.probes:
            p.close()
        self.pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name LIKE 'test-%' AND pid <> pg_backend_pid()")
        for s in self.sessions:
            s.close()

    def probe(self, *args, **conninfo):
        p = Probe(self.pg.conninfo(**conninfo), *args)
        self.probes.append(p)
        return p

    def session(self, app, db):
        s = self.pg.session(app, db)
        self.sessions.append(s)
        return s

    def test_activity_counts_by_state(self):
        for _ in range(2):
            self.session("test-idle", "shop")
        self.session("test-txn", "shop").send("BEGIN;\nSELECT 1;")
        self.session("test-active", "shop").send("SELECT pg_sleep(600);")
        expect = {
            activity_key("shop", "idle", "postgres", "test-idle"): 2.0,
            activity_key("shop", "idle in transaction", "postgres", "test-txn"): 1.0,
            activity_key("shop", "active", "postgres", "test-active"): 1.0,
            # the collector's own session, running the collection
            activity_key("postgres", "active", "postgres", "monitord"): 1.0,
        }
        p = self.probe("-S")
        p.run_until(lambda r: r.series("pg_stat_activity_count") == expect,
                    what="the four sessions in pg_stat_activity_count")
        # One run more: a session that began between the last run's start
        # (its now()) and its look at pg_stat_activity shows an age of 0.
        r = p.run()
        self.assertEqual(r.status, "ok")
        self.assertEqual(r.series("pg_stat_activity_count"), expect)
        tx = r.series("pg_stat_activity_max_tx_duration")
        self.assertEqual(set(tx), set(expect))
        self.assertEqual(tx[activity_key("shop", "idle", "postgres", "test-idle")], 0.0)
        self.assertGreater(tx[activity_key("shop", "idle in transaction", "postgres", "test-txn")], 0.0)
        self.assertGreater(tx[activity_key("shop", "active", "postgres", "test-active")], 0.0)
        self.assertEqual(r.get("pg_connections_utilization_ratio"), 5 / (20 - 2))
        self.assertGreater(r.get("pg_stat_activity_max_query_duration_seconds", datname="shop"), 0.0)
        self.assertEqual(r.get("pg_stat_activity_max_query_duration_seconds", datname="postgres"), 0.0)
        self.assertEqual(r.get("pg_stat_database_numbackends", datname="shop"), 4.0)
        self.assertEqual(r.get("pg_up"), 1.0)

    def test_settings_match_the_server(self):
        r = self.probe().run()
        self.assertEqual(r.status, "ok")
        self.assertEqual(r.get("pg_settings_max_connections"),
                         float(self.pg.psql("SHOW max_connections")))
        self.assertEqual(r.get("pg_settings_max_connections"), 20.0)
        self.assertEqual(r.get("pg_settings_superuser_reserved_connections"), 2.0)
        self.assertEqual(r.get("pg_postmaster_start_time_seconds"), float(self.pg.psql(
            "SELECT EXTRACT(EPOCH FROM pg_postmaster_start_time())")))
        self.assertEqual(r.get("pg_database_size_bytes", datname="shop"),
                         float(self.pg.psql("SELECT pg_database_size('shop')")))

    def test_sizes_are_measured_once_a_minute(self):
        p = self.probe("-S", "-d", "sizes")
        r1 = p.run()
        size = float(self.pg.psql("SELECT pg_database_size('sizes')"))
        self.assertEqual(r1.get("pg_database_size_bytes", datname="sizes"), size)
        self.pg.psql("CREATE TABLE grow AS SELECT generate_series(1, 20000) AS n", db="sizes")
        self.assertGreater(float(self.pg.psql("SELECT pg_database_size('sizes')")), size)
        r2 = p.run()
        # the next run, well within the minute, repeats the measurement
        self.assertEqual(r2.get("pg_database_size_bytes", datname="sizes"), size)
        self.assertEqual(r2.status, "ok")

    def test_commit_and_rollback_counters_rise(self):
        p = self.probe("-S")
        r0 = p.run()
        c0 = r0.get("pg_stat_database_xact_commit", datname="mes")
        b0 = r0.get("pg_stat_database_xact_rollback", datname="mes")
        script = "SELECT 1;\n" * 7 + "BEGIN;\nSELECT 1;\nROLLBACK;\n" * 2
        subprocess.run(self.pg.psql_args("mes"), input=script, text=True, check=True,
                       capture_output=True, env=dict(os.environ, PGAPPNAME="test-commits"))
        # 7 commits, plus the one every new session makes while it starts.
        r = p.run_until(lambda r: r.get("pg_stat_database_xact_commit", datname="mes") >= c0 + 8
                        and r.get("pg_stat_database_xact_rollback", datname="mes") >= b0 + 2,
                        what="the commits to show")
        self.assertEqual(r.get("pg_stat_database_xact_commit", datname="mes"), c0 + 8)
        self.assertEqual(r.get("pg_stat_database_xact_rollback", datname="mes"), b0 + 2)

    def test_wrong_password(self):
        pw = password_file("wrong-secret-8123\n")
        self.addCleanup(os.unlink, pw)
        p = self.probe("-v", "-p", pw, user="monitor")
        r = p.run()
        self.assertEqual(r.status, "error")
        self.assertEqual(r.message, f'connection to server at "127.0.0.1", port {self.pg.port} '
                         'failed: FATAL: password authentication failed for user "monitor"')
        self.assertEqual(r.samples, {("pg_up", frozenset()): 0.0})
        p.close()
        self.assertNotIn("wrong-secret-8123", p.stderr())

    def test_right_password_from_file(self):
        pw = password_file("right-pass-5791\n")
        self.addCleanup(os.unlink, pw)
        p = self.probe("-v", "-p", pw, user="monitor")
        r = p.run()
        self.assertEqual(r.status, "ok", r.message)
        self.assertEqual(r.get("pg_stat_activity_count", datname="postgres", state="active",
                               usename="monitor", application_name="monitord"), 1.0)
        p.close()
        self.assertNotIn("right-pass-5791", p.stderr())
        self.assertIn(f"connected to server 15", p.stderr())

    def test_password_in_conninfo_is_never_shown(self):
        p = self.probe("-v", user="monitor", password="inline-secret-4444")
        r = p.run()
        self.assertEqual(r.status, "error")
        self.assertEqual(r.message, f'connection to server at "127.0.0.1", port {self.pg.port} '
                         'failed: FATAL: password authentication failed for user "monitor"')
        p.close()
        p2 = self.probe("-v", user="monitor", password="right-pass-5791")
        self.assertEqual(p2.run().status, "ok")
        p2.close()
        for out in (p.stderr(), p2.stderr(), p.first, p2.first):
            self.assertNotIn("inline-secret-4444", out)
            self.assertNotIn("right-pass-5791", out)
        self.assertIn(f"(user=monitor dbname=postgres host=127.0.0.1 port={self.pg.port})",
                      p2.stderr())

    def test_bad_conninfo_with_password(self):
        p = Probe("host=127.0.0.1 password=my secret-7777")
        self.assertEqual(p.first, "config error: invalid conninfo (libpq's message is withheld "
                         "because the string holds a password; use password_file)")
        p.close()
        p = Probe("host=127.0.0.1 nosuchkey=1")
        self.assertEqual(p.first, 'config error: invalid conninfo: invalid connection option '
                         '"nosuchkey"')
        p.close()

    def test_statements_totals(self):
        p = self.probe("-d", "stmts")
        subprocess.run(self.pg.psql_args("stmts"), input="SELECT 1;\n" * 5, text=True,
                       check=True, capture_output=True)
        r1 = p.run()
        self.assertEqual(r1.status, "ok", r1.message)
        # found in this run's first round trip, read in a second one
        self.assertEqual(r1.round_trips, 2)
        self.assertEqual(r1.get("pg_stat_statements_calls_total", datname="stmts"), 5.0)
        self.assertEqual(r1.get("pg_stat_statements_rows_total", datname="stmts"), 5.0)
        self.assertGreater(r1.get("pg_stat_statements_seconds_total", datname="stmts"), 0.0)
        self.assertEqual(r1.datnames("pg_stat_statements_calls_total"), {"stmts"})
        r2 = p.run()
        self.assertEqual(r2.round_trips, 1)
        self.assertEqual(r2.get("pg_stat_statements_calls_total", datname="stmts"), 5.0)

    def test_statements_absent_or_off(self):
        for args, db in (((), "shop"), (("-S",), "postgres")):
            p = self.probe(*args, dbname=db)
            r = p.run()
            self.assertEqual(r.status, "ok", r.message)
            self.assertEqual(r.round_trips, 1)
            self.assertFalse({n for n in r.names() if n.startswith("pg_stat_statements")})
            self.assertEqual(p.run().round_trips, 1)

    def test_databases_filter(self):
        r = self.probe("-S", "-d", "shop, o'brien").run()
        self.assertEqual(r.status, "ok", r.message)
        for name in ("pg_stat_database_xact_commit", "pg_database_size_bytes",
                     "pg_stat_activity_max_query_duration_seconds"):
            self.assertEqual(r.datnames(name), {"shop", "o'brien"}, name)
        # connection counts still cover the whole server
        self.assertEqual(r.datnames("pg_stat_activity_count"), {"postgres"})

    def test_killed_connection_reconnects(self):
        p = self.probe("-S")
        self.assertEqual(p.run().connects, 1)
        self.assertEqual(self.pg.psql("SELECT count(pg_terminate_backend(pid)) FROM "
                                      "pg_stat_activity WHERE application_name = 'monitord'"), "1")
        r = p.run()
        self.assertEqual(r.status, "ok", r.message)
        self.assertEqual(r.connects, 2)
        self.assertEqual(p.run().connects, 2)


class Restart(unittest.TestCase):
    """A server that goes away and comes back; pg_stat_statements is
    installed there but not loaded."""

    @classmethod
    def setUpClass(cls):
        cls.pg = make_server()
        cls.pg.psql("CREATE EXTENSION pg_stat_statements")

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()

    def test_down_then_up(self):
        p = Probe(self.pg.conninfo(), "-S")
        self.addCleanup(p.close)
        r = p.run()
        self.assertEqual((r.status, r.connects, r.get("pg_up")), ("ok", 1, 1.0))
        start = r.get("pg_postmaster_start_time_seconds")
        self.pg.stop()
        r = p.run()
        self.assertEqual(r.status, "error")
        self.assertEqual(r.message, f'connection to server at "127.0.0.1", port {self.pg.port} '
                         'failed: Connection refused Is the server running on that host and '
                         'accepting TCP/IP connections?')
        self.assertEqual(r.samples, {("pg_up", frozenset()): 0.0})
        self.assertEqual(r.connects, 2)
        self.pg.start()
        r = p.run()
        self.assertEqual((r.status, r.connects, r.get("pg_up")), ("ok", 3, 1.0))
        self.assertGreater(r.get("pg_postmaster_start_time_seconds"), start)

    def test_statements_installed_but_not_loaded(self):
        p = Probe(self.pg.conninfo())
        r1, r2 = p.run(), p.run()
        p.close()
        for r in (r1, r2):
            self.assertEqual(r.status, "ok", r.message)
            self.assertFalse({n for n in r.names() if n.startswith("pg_stat_statements")})
        self.assertEqual((r1.round_trips, r2.round_trips), (2, 1))
        warnings = [line for line in p.stderr().splitlines() if "pg_stat_statements" in line]
        self.assertEqual(len(warnings), 1, p.stderr())
        self.assertTrue(warnings[0].endswith(
            f"warn: postgres 127.0.0.1:{self.pg.port}: pg_stat_statements is installed but "
            "cannot be read, its series are left out: ERROR: pg_stat_statements must be "
            "loaded via shared_preload_libraries"), warnings[0])


class Misbehaving(unittest.TestCase):
    """Servers that never answer or answer nonsense: the run ends at its
    deadline or with an error, the loop keeps turning, sockets get closed."""

    def fake(self, mode):
        f = fakepg.FakePg(mode)
        self.addCleanup(f.stop)
        return f

    def probe(self, fake, timeout_ms):
        p = Probe(f"host=127.0.0.1 port={fake.port} user=x dbname=y", "-t", str(timeout_ms),
                  "-b", "10")
        self.addCleanup(p.close)
        return p

    def test_silent_server_times_out(self):
        f = self.fake("silent")
        p = self.probe(f, 1000)
        for n in (1, 2):
            r = p.run()
            self.assertEqual(r.status, "timeout")
            self.assertEqual(r.samples, {})
            # a 10 ms timer kept firing while the run waited
            self.assertGreaterEqual(r.heartbeats, 10)
            self.assertEqual(len(f.conns), n)
            self.assertTrue(f.wait_closed(), "the abandoned connection was not closed")

    def test_server_that_never_answers_a_query(self):
        f = self.fake("stall")
        p = self.probe(f, 1000)
        r = p.run()
        self.assertEqual(r.status, "timeout")
        self.assertGreaterEqual(r.heartbeats, 10)
        self.assertTrue(f.wait_closed())
        got = f.conns[0].received
        self.assertIn(b"SELECT datname, COALESCE(state, 'unknown')", got)
        self.assertTrue(got.endswith(b"X\x00\x00\x00\x04"), got[-20:])   # Terminate

    def test_garbage_is_an_error(self):
        f = self.fake("garbage")
        p = self.probe(f, 5000)
        for _ in range(2):
            r = p.run()
            self.assertEqual(r.status, "error")
            self.assertEqual(r.message, f'connection to server at "127.0.0.1", port {f.port} '
                             'failed: expected authentication request from server, but '
                             'received H')
            self.assertEqual(r.samples, {("pg_up", frozenset()): 0.0})
        self.assertTrue(f.wait_closed())

    def test_results_of_the_wrong_shape(self):
        f = self.fake("oneresult")
        p = self.probe(f, 5000)
        for _ in range(2):
            r = p.run()
            self.assertEqual(r.status, "error")
            # the first statement of a new connection sets statement_timeout
            self.assertEqual(r.message, "unexpected result for SET: PGRES_TUPLES_OK")
            self.assertEqual(r.samples, {("pg_up", frozenset()): 0.0})
            # a bad answer is not a broken connection: it is kept
            self.assertEqual(r.connects, 1)

    def test_unasked_copy_is_an_error(self):
        f = self.fake("copy")
        p = self.probe(f, 5000)
        for n in (1, 2):
            r = p.run()
            self.assertEqual(r.status, "error")
            self.assertEqual(r.message, "the server started a COPY the collector did not ask for")
            self.assertEqual(r.samples, {("pg_up", frozenset()): 0.0})
            self.assertEqual(r.connects, n)
        self.assertTrue(f.wait_closed())


if __name__ == "__main__":
    tap.main()
