"""libpq and librabbitmq are loaded only when the configuration needs them.

monitord is not linked with them (they and what they pull in cost about
3 MB of resident memory): a [postgres] section loads libpq when the target
is built, a [rabbitmq] section's AMQP canary loads librabbitmq at its first
run.  This reads /proc/PID/maps of the real daemon to see what is mapped,
and gives the daemon a library that cannot be loaded (a file by the
library's SONAME in LD_LIBRARY_PATH, the dynamic loader's own override) to
see the error it reports.  No server is needed: the targets point at closed
ports."""
import json
import os
import re
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import tap                               # noqa: E402
from daemon import BIN, Daemon, free_port, run   # noqa: E402


def sonames():
    """The SONAMEs configure found, from the config.h beside the binary."""
    out = {}
    with open(os.path.join(os.path.dirname(BIN), "config.h")) as f:
        for line in f:
            m = re.match(r'#define (LIBPQ_SONAME|RABBITMQ_SONAME) "(.*)"$', line.strip())
            if m:
                out[m.group(1)] = m.group(2)
    return out["LIBPQ_SONAME"], out["RABBITMQ_SONAME"]


PQ, RMQ = sonames()

# The built-in configuration's sections (src/daemon.c), on a free port.
DEFAULT = """
[server]
listen = 127.0.0.1:{port}

[proc "host"]
interval = 5s

[service "host"]
method = use
job = host
description = This machine: CPU, memory, disks and network.

[http "monitord"]
scrape = http://127.0.0.1:{port}/metrics?self=1
interval = 15s
"""

POSTGRES = """
[postgres "db"]
conninfo = host=127.0.0.1 port=%d dbname=shop user=monitor connect_timeout=1
interval = 3s
"""

RABBITMQ = """
[rabbitmq "mq"]
url = http://127.0.0.1:%d
user = guest
password_file = %s
canary = %s
interval = 3s
"""


def samples(text, name):
    """[(labels, value)] of the series NAME on a text-format page."""
    out = []
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        if m and m.group(1) == name:
            out.append((dict(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"',
                                        m.group(2) or "")), m.group(3)))
    return out


def mapped(pid):
    """Base names of the files mapped into process PID."""
    names = set()
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split(None, 5)
            if len(fields) == 6 and fields[5].startswith("/"):
                names.add(os.path.basename(fields[5].strip()))
    return names


def has_lib(names, soname):
    """Whether a file of library SONAME (libpq.so.5 -> libpq.so.5.15) is mapped."""
    return any(n == soname or n.startswith(soname + ".") for n in names)


def broken_lib_dir(testcase, soname):
    """A directory holding a file named SONAME that is not a library."""
    d = tempfile.mkdtemp(prefix="monitord-badlib-")
    path = os.path.join(d, soname)
    with open(path, "w") as f:
        f.write("this is not a shared library, only text standing in for one\n" * 3)

    def clean():
        os.unlink(path)
        os.rmdir(d)
    testcase.addCleanup(clean)
    return d


class LibsOnDemand(unittest.TestCase):
    def daemon(self, text, env=None):
        d = Daemon(text, env=env)
        self.addCleanup(d.stop)
        return d

    def rabbitmq(self, canary):
        fd, pw = tempfile.mkstemp(prefix="monitord-mqpass-")
        with os.fdopen(fd, "w") as f:
            f.write("guest\n")
        self.addCleanup(os.unlink, pw)
        return RABBITMQ % (free_port(), pw, canary)

    def target(self, d, job):
        t = json.loads(d.get("/api/targets").text)["data"]["targets"]
        return [x for x in t if x["job"] == job][0]

    def ran(self, d, job):
        """Wait for JOB's first run to end and return the target."""
        return d.wait_for(lambda: (lambda t: t if t["runs"] >= 1 else None)(self.target(d, job)),
                          what=f"a run of {job}")

    def test_default_config_maps_neither(self):
        d = self.daemon(DEFAULT)
        self.ran(d, "host")
        self.ran(d, "monitord")
        names = mapped(d.proc.pid)
        self.assertTrue(has_lib(names, "libc.so.6"), sorted(names))
        self.assertFalse(has_lib(names, PQ), sorted(names))
        self.assertFalse(has_lib(names, RMQ), sorted(names))

    def test_postgres_section_maps_libpq(self):
        d = self.daemon(DEFAULT + POSTGRES % free_port())
        t = self.ran(d, "db")
        self.assertEqual(t["health"], "down")
        self.assertTrue(t["lastError"].startswith('connection to server at "127.0.0.1"'),
                        t["lastError"])
        names = mapped(d.proc.pid)
        self.assertTrue(has_lib(names, PQ), sorted(names))
        self.assertFalse(has_lib(names, RMQ), sorted(names))

    def test_canary_maps_librabbitmq(self):
        d = self.daemon(DEFAULT + self.rabbitmq("yes"))
        self.ran(d, "mq")
        names = mapped(d.proc.pid)
        self.assertTrue(has_lib(names, RMQ), sorted(names))
        self.assertFalse(has_lib(names, PQ), sorted(names))

    def test_rabbitmq_without_canary_maps_neither(self):
        d = self.daemon(DEFAULT + self.rabbitmq("no"))
        self.ran(d, "mq")
        names = mapped(d.proc.pid)
        self.assertFalse(has_lib(names, RMQ), sorted(names))
        self.assertFalse(has_lib(names, PQ), sorted(names))

    def test_libpq_that_cannot_be_loaded(self):
        bad = broken_lib_dir(self, PQ)
        d = self.daemon(DEFAULT + POSTGRES % free_port(), env={"LD_LIBRARY_PATH": bad})
        t = self.ran(d, "db")
        why = f"{PQ} could not be loaded: {bad}/{PQ}: invalid ELF header"
        self.assertEqual((t["health"], t["instance"], t["lastError"]), ("down", "unknown", why))
        st, text = d.get_text("/api/targets/latest?job=db")
        self.assertEqual(st, 200)
        self.assertEqual(samples(text, "pg_up"),
                         [({"job": "db", "instance": "unknown"}, "0")])
        # The config check said it could not check the conninfo, and passed.
        self.assertIn(f"warn: postgres db: conninfo not checked: {why}\n", d.stderr())
        # The other targets run as usual.
        self.assertEqual(self.ran(d, "host")["health"], "up")

    def test_check_without_libpq(self):
        bad = broken_lib_dir(self, PQ)
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(DEFAULT.replace("{port}", "9330") + POSTGRES % 5432)
        self.addCleanup(os.unlink, f.name)
        rc, out, err = run(["-t", "-c", f.name],
                           env=dict(os.environ, LD_LIBRARY_PATH=bad))
        self.assertEqual((rc, out), (0, f"configuration OK: {f.name}\n"))
        self.assertRegex(err, r"^\S+ warn: postgres db: conninfo not checked: " +
                         re.escape(f"{PQ} could not be loaded: {bad}/{PQ}: invalid ELF header") +
                         "\n$")
        # With libpq, the same check finds a bad conninfo.
        with open(f.name, "a") as g:
            g.write("[postgres \"bad\"]\nconninfo = host=h nosuchkey=1\n")
        rc, out, err = run(["-t", "-c", f.name])
        self.assertEqual((rc, out, err), (1, "", f"{f.name}:21: invalid conninfo: invalid "
                                          'connection option "nosuchkey"\n'
                                          "configuration has 1 error\n"))

    def test_librabbitmq_that_cannot_be_loaded(self):
        bad = broken_lib_dir(self, RMQ)
        d = self.daemon(DEFAULT + self.rabbitmq("yes"),
                        env={"LD_LIBRARY_PATH": bad})
        self.ran(d, "mq")
        why = f"{RMQ} could not be loaded: {bad}/{RMQ}: invalid ELF header"
        d.wait_for(lambda: f"warn: rabbitmq mq: canary failed: {why}\n" in d.stderr(),
                   what="the canary's error on the log")
        st, text = d.get_text("/api/targets/latest?job=mq")
        self.assertEqual(st, 200)
        self.assertEqual([v for _, v in samples(text, "rabbitmq_canary_up")], ["0"])
        self.assertFalse(has_lib(mapped(d.proc.pid), RMQ))


if __name__ == "__main__":
    tap.main()
