"""The [postgres "name"] section end to end: the real monitord binary with
a config naming a real PostgreSQL server, read back from /api/targets and
/api/targets/latest, and `monitord -t` on bad postgres sections.

Needs PostgreSQL's server binaries (Debian: postgresql); skipped without
them unless $CI is set."""
import json
import os
import re
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import pgserver                  # noqa: E402
import tap                       # noqa: E402
from daemon import Daemon, run   # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value} of a text-format page."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            out[(m.group(1), frozenset(LABEL.findall(m.group(2) or "")))] = float(m.group(3))
    return out


def secret_file(text):
    fd, path = tempfile.mkstemp(prefix="monitord-pgpass-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


CONFIG = """
[server]
listen = 127.0.0.1:{{port}}

[postgres "shop-db"]
conninfo = host=127.0.0.1 port={pgport} dbname=shop user=monitor
password_file = {pwfile}
interval = 3s
"""


class PostgresTarget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.pg = pgserver.PgServer(settings={"max_connections": 20},
                                       password_roles=("monitor",))
        except pgserver.Missing as e:
            if os.environ.get("CI"):
                raise
            raise unittest.SkipTest(str(e))
        cls.pg.psql("CREATE DATABASE shop")
        cls.pg.psql("CREATE ROLE monitor LOGIN PASSWORD 'right-pass-5791' IN ROLE pg_monitor")

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()

    def daemon(self, password):
        pw = secret_file(password + "\n")
        self.addCleanup(os.unlink, pw)
        d = Daemon(CONFIG.format(pgport=self.pg.port, pwfile=pw))
        self.addCleanup(d.stop)
        return d

    def target(self, d):
        t = json.loads(d.get("/api/targets").text)["data"]["targets"]
        return [x for x in t if x["job"] == "shop-db"][0]

    def latest(self, d):
        st, text = d.get_text("/api/targets/latest?job=shop-db")
        self.assertEqual(st, 200)
        return text, parse(text)

    def test_collects_with_job_and_instance(self):
        d = self.daemon("right-pass-5791")
        t = d.wait_for(lambda: (lambda t: t if t["health"] == "up" else None)(self.target(d)),
                       what="shop-db up")
        inst = f"127.0.0.1:{self.pg.port}"
        self.assertEqual((t["kind"], t["instance"], t["lastError"]), ("postgres", inst, ""))
        text, s = self.latest(d)
        base = {("instance", inst), ("job", "shop-db")}
        self.assertEqual(s[("pg_up", frozenset(base))], 1.0)
        self.assertEqual(s[("up", frozenset(base))], 1.0)
        self.assertEqual(s[("pg_settings_max_connections", frozenset(base))], 20.0)
        self.assertEqual(s[("pg_stat_activity_count", frozenset(base | {
            ("datname", "shop"), ("state", "active"), ("usename", "monitor"),
            ("application_name", "monitord")}))], 1.0)
        self.assertIn("# TYPE pg_stat_database_xact_commit counter", text)
        self.assertIn("# HELP pg_connections_utilization_ratio ", text)

    def test_wrong_password_is_data_not_a_leak(self):
        d = self.daemon("wrong-secret-8123")
        t = d.wait_for(lambda: (lambda t: t if t["health"] == "down" else None)(self.target(d)),
                       what="shop-db down")
        self.assertEqual(t["lastError"], f'connection to server at "127.0.0.1", port '
                         f'{self.pg.port} failed: FATAL: password authentication failed '
                         'for user "monitor"')
        _, s = self.latest(d)
        base = {("instance", f"127.0.0.1:{self.pg.port}"), ("job", "shop-db")}
        self.assertEqual(s[("pg_up", frozenset(base))], 0.0)
        self.assertEqual(s[("up", frozenset(base))], 0.0)
        self.assertNotIn("wrong-secret-8123", d.stderr())
        self.assertNotIn("wrong-secret-8123", d.get("/api/targets").text)


class ConfigCheck(unittest.TestCase):
    def check(self, section):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("[server]\nlisten = 127.0.0.1:9330\n\n" + section)
        self.addCleanup(os.unlink, f.name)
        return f.name, run(["-t", "-c", f.name])

    def test_bad_conninfo_and_databases(self):
        path, (rc, _, err) = self.check(
            '[postgres "db"]\nconninfo = host=h nosuchkey=1\ndatabases = shop,\n')
        self.assertEqual(rc, 1)
        # the conf module may prefix the section or key: match the rest
        self.assertRegex(err, re.escape(f"{path}:5: ") + ".*" + re.escape(
            'invalid conninfo: invalid connection option "nosuchkey"'))
        self.assertRegex(err, re.escape(f"{path}:6: ") + ".*" + re.escape(
            "databases: empty name in the list"))

    def test_bad_conninfo_with_password_is_not_quoted(self):
        path, (rc, _, err) = self.check(
            '[postgres "db"]\nconninfo = host=h password=my secret-7777\n')
        self.assertEqual(rc, 1)
        self.assertRegex(err, re.escape(f"{path}:5: ") + ".*" + re.escape(
            "invalid conninfo (libpq's message is withheld"))
        self.assertNotIn("secret-7777", err)

    def test_good_section(self):
        path, (rc, out, err) = self.check(
            '[postgres "db"]\nconninfo = postgresql://monitor@127.0.0.1:5432/shop\n'
            'databases = shop, my db\nstatements = no\n')
        self.assertEqual((rc, err), (0, ""))


if __name__ == "__main__":
    tap.main()
