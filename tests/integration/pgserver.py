"""A throwaway PostgreSQL cluster for integration tests.

`PgServer()` runs initdb in a temporary directory and starts the server on a
free 127.0.0.1 port with its Unix socket in that directory; `stop()` sends
SIGINT (fast shutdown) to the PID in postmaster.pid and waits for it to go;
`start()` starts it again on the same port; `destroy()` stops it and removes
the directory.  The server binaries come from $PG_BINDIR, else `pg_config
--bindir`, else the newest /usr/lib/postgresql/*/bin.  initdb and the server
refuse to run as root, so as root they run as the `postgres` user.

Authentication: trust for every role over TCP, except the roles named in
`password_roles`, which must give their scram-sha-256 password.  psql runs
over TCP too, so the tests see exactly what a remote client would."""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time


class Missing(Exception):
    """PostgreSQL's server binaries are not installed."""


def bindir():
    d = os.environ.get("PG_BINDIR")
    if d:
        return d
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if cands:
        return os.path.dirname(cands[-1])
    try:
        d = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                           text=True, check=True).stdout.strip()
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    except (OSError, subprocess.CalledProcessError):
        pass
    raise Missing("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                  "install postgresql or set PG_BINDIR")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, settings=None, password_roles=()):
        self.bin = bindir()
        self.dir = tempfile.mkdtemp(prefix="monitord-pg-")
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "server.log")
        self.port = free_port()
        self.settings = {"listen_addresses": "127.0.0.1", "fsync": "off",
                         "unix_socket_directories": self.dir}
        self.settings.update(settings or {})
        self.pid = None
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        try:
            self._run(["initdb", "-D", self.data, "-U", "postgres",
                       "--auth=trust", "--no-sync", "-E", "UTF8",
                       "--locale=C"])
            with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
                f.write("local all all trust\n")
                for role in password_roles:
                    f.write(f"host all {role} 127.0.0.1/32 scram-sha-256\n")
                f.write("host all all 127.0.0.1/32 trust\n")
            self.start()
        except BaseException:
            self.destroy()
            raise

    def _run(self, args):
        p = subprocess.run(self.as_user + [os.path.join(self.bin, args[0])] + args[1:],
                           capture_output=True, text=True, cwd="/", timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({p.returncode}): {p.stdout}{p.stderr}")
        return p.stdout

    def start(self):
        opts = f"-p {self.port} " + " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        self._run(["pg_ctl", "-D", self.data, "-l", self.logfile, "-w",
                   "-t", "60", "-o", opts, "start"])
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"postgres {self.pid} did not stop")
        self.pid = None

    def destroy(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def conninfo(self, **kw):
        kw.setdefault("host", "127.0.0.1")
        kw.setdefault("port", self.port)
        kw.setdefault("user", "postgres")
        kw.setdefault("dbname", "postgres")
        return " ".join(f"{k}={v}" for k, v in kw.items())

    def psql_args(self, db="postgres", user="postgres"):
        return [os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t",
                "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                "-U", user, "-d", db]

    def psql(self, sql, db="postgres", user="postgres", env=None):
        """Run SQL (psql -c) and return its unaligned, tuples-only output."""
        e = dict(os.environ, PGAPPNAME="test-setup")
        e.update(env or {})
        p = subprocess.run(self.psql_args(db, user) + ["-c", sql],
                           capture_output=True, text=True, timeout=60, env=e)
        if p.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {p.stderr}")
        return p.stdout.strip()

    def session(self, appname, db="postgres", user="postgres"):
        return Session(self, appname, db, user)


class Session:
    """A psql process that holds one connection open; statements written to
    its stdin run in order, and it lives until close()."""

    def __init__(self, server, appname, db, user):
        self.proc = subprocess.Popen(server.psql_args(db, user), stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     text=True, env=dict(os.environ, PGAPPNAME=appname))

    def send(self, sql):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait()
