"""A private RabbitMQ node for the integration tests.

It runs Debian's rabbitmq-server 3.10 (the upstream start script, as root or
not) with the management and Prometheus plugins, on 127.0.0.1 only, on free
ports, with its own HOME (the Erlang cookie), database, logs and epmd.  It is
stopped by the PIDs recorded here: the node's (the script execs erl) and the
epmd it spawned, which daemonizes.  Starting takes about 8 s.

    node = RabbitMQ(); node.start()
    node.api("PUT", "/api/queues/%2F/work", {"durable": False})
    node.stop()
"""
import atexit
import base64
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SCRIPT_GLOB = "/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_script():
    """The upstream start script, or None when RabbitMQ is not installed."""
    found = sorted(glob.glob(SCRIPT_GLOB))
    return found[-1] if found else None


def q(name):
    """A path segment for the management API (the vhost "/" is %2F)."""
    return urllib.parse.quote(name, safe="")


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class RabbitMQ:
    def __init__(self):
        self.dir = None
        self.proc = None
        self.epmd_pid = None
        self.amqp_port = free_port()
        self.mgmt_port = free_port()
        self.prom_port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = f"monitordtest{os.getpid()}x{self.amqp_port}@localhost"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.mgmt_port}"

    @property
    def prometheus_url(self):
        return f"http://127.0.0.1:{self.prom_port}/metrics"

    @property
    def amqp(self):
        return f"127.0.0.1:{self.amqp_port}"

    def _env(self):
        d = self.dir
        env = dict(os.environ)
        env.update({
            "HOME": os.path.join(d, "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_CONFIG_FILE": os.path.join(d, "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(d, "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": os.path.join(d, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(d, "log"),
            "RABBITMQ_PID_FILE": os.path.join(d, "rabbitmq.pid"),
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        return env

    def start(self, timeout=60):
        script = server_script()
        if script is None:
            raise RuntimeError("rabbitmq-server is not installed")
        self.dir = tempfile.mkdtemp(prefix="monitord-rmq-")
        for sub in ("home", "mnesia", "log"):
            os.mkdir(os.path.join(self.dir, sub), 0o700)
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write(f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
                    f"management.tcp.ip = 127.0.0.1\n"
                    f"management.tcp.port = {self.mgmt_port}\n"
                    f"prometheus.tcp.ip = 127.0.0.1\n"
                    f"prometheus.tcp.port = {self.prom_port}\n"
                    "collect_statistics_interval = 1000\n")
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
            f.write("[rabbitmq_management,rabbitmq_prometheus].\n")
        self.log = open(os.path.join(self.dir, "console.log"), "w+b")
        self.proc = subprocess.Popen([script], env=self._env(), cwd=self.dir,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        atexit.register(self.stop)      # a test that dies leaves no broker
        deadline = time.time() + timeout
        while time.time() < deadline:
            self._find_epmd()
            if self.proc.poll() is not None:
                out = self.console()
                self.stop()
                raise RuntimeError(f"rabbitmq-server exited with {self.proc.returncode}: {out[-2000:]}")
            try:
                self.api("GET", f"/api/health/checks/port-listener/{self.amqp_port}", timeout=2)
                self._find_epmd()
                return self
            except (OSError, ApiError):
                time.sleep(0.25)
        out = self.console()
        self.stop()
        raise RuntimeError(f"rabbitmq-server not ready after {timeout}s: {out[-2000:]}")

    def _find_epmd(self):
        """Record the PID of the epmd listening on our private port."""
        if self.epmd_pid is not None:
            return
        try:
            out = subprocess.run(["ss", "-ltnpH", f"sport = :{self.epmd_port}"],
                                 capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.TimeoutExpired):
            return
        for part in out.split("pid=")[1:]:
            pid = int(part.split(",")[0])
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "epmd":
                        self.epmd_pid = pid
                        return
            except OSError:
                pass

    def console(self):
        if self.log.closed:
            return ""
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._find_epmd()
        if self.epmd_pid is not None:
            try:
                os.kill(self.epmd_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.epmd_pid = None
        if self.proc is not None and not self.log.closed:
            self.log.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def api(self, method, path, body=None, user="guest", password="guest", timeout=10):
        """Call the management API; returns the decoded JSON (or None)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Basic " +
                       base64.b64encode(f"{user}:{password}".encode()).decode())
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read()) from None
        return json.loads(text) if text else None

    # Helpers for the tests' topology.
    def declare_queue(self, name, vhost="/", arguments=None, durable=False):
        self.api("PUT", f"/api/queues/{q(vhost)}/{q(name)}",
                 {"durable": durable, "auto_delete": False, "arguments": arguments or {}})

    def declare_exchange(self, name, kind="fanout", vhost="/"):
        self.api("PUT", f"/api/exchanges/{q(vhost)}/{q(name)}",
                 {"type": kind, "durable": False, "auto_delete": False})

    def bind(self, exchange, queue, routing_key="", vhost="/"):
        self.api("POST", f"/api/bindings/{q(vhost)}/e/{q(exchange)}/q/{q(queue)}",
                 {"routing_key": routing_key})

    def set_policy(self, name, pattern, definition, vhost="/", apply_to="queues", priority=0):
        self.api("PUT", f"/api/policies/{q(vhost)}/{q(name)}",
                 {"pattern": pattern, "definition": definition,
                  "apply-to": apply_to, "priority": priority})

    def publish(self, queue, payload, vhost="/"):
        r = self.api("POST", f"/api/exchanges/{q(vhost)}/amq.default/publish",
                     {"properties": {}, "routing_key": queue, "payload": payload,
                      "payload_encoding": "string"})
        if not r or not r.get("routed"):
            raise RuntimeError(f"message to {queue} not routed: {r!r}")

    def reject(self, queue, count, vhost="/"):
        """Take COUNT messages and reject them without requeue (they go to
        the queue's dead-letter exchange)."""
        return self.api("POST", f"/api/queues/{q(vhost)}/{q(queue)}/get",
                        {"count": count, "ackmode": "reject_requeue_false",
                         "encoding": "auto"})

    def queue(self, name, vhost="/"):
        return self.api("GET", f"/api/queues/{q(vhost)}/{q(name)}")
