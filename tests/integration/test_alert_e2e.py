"""Alerting end to end in the real daemon with the real PromQL engine: a
value imported over HTTP crosses a rule's threshold, the alert fires, the
webhook receiver gets Alertmanager's payload once, /api/v1/alerts shows it,
and it resolves when the value falls."""
import json
import os
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
from daemon import Daemon  # noqa: E402


class Receiver:
    def __init__(self):
        self.got = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                outer.got.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class EndToEnd(unittest.TestCase):
    def test_fires_notifies_resolves(self):
        rx = Receiver()
        conf = f"""
[server]
listen = 127.0.0.1:{{port}}
evaluation_interval = 1s

[alert "e2e-high"]
expr = e2e_load{{job="app"}} > 5
severity = critical
summary = load is {{{{ $value }}}}
notify = hook

[webhook "hook"]
url = http://127.0.0.1:{rx.port}/hook
group_wait = 1s
group_interval = 1s
"""
        d = Daemon(conf)
        try:
            def push(v):
                now = int(time.time() * 1000)
                r = d.get("/api/v1/import/prometheus", method="POST",
                          data=f'e2e_load{{job="app"}} {v} {now}\n'.encode())
                self.assertEqual(r.status, 204)
            push(9)
            firing = d.wait_for(lambda: [p for p in rx.got if p["status"] == "firing"],
                                timeout=20, what="firing notification")
            p = firing[0]
            self.assertEqual(p["version"], "4")
            self.assertEqual(p["receiver"], "hook")
            a = p["alerts"][0]
            self.assertEqual(a["labels"], {"alertname": "e2e-high", "job": "app",
                                           "severity": "critical"})
            self.assertEqual(a["annotations"], {"summary": "load is 9"})
            self.assertEqual(a["status"], "firing")
            api = json.loads(d.get("/api/v1/alerts").text)["data"]["alerts"]
            self.assertEqual([(x["labels"]["alertname"], x["state"]) for x in api],
                             [("e2e-high", "firing")])
            push(1)
            d.wait_for(lambda: [p for p in rx.got if p["status"] == "resolved"],
                       timeout=20, what="resolved notification")
            self.assertEqual(len([p for p in rx.got if p["status"] == "firing"]), 1)
        finally:
            self.assertEqual(d.stop(), 0)
            rx.close()


if __name__ == "__main__":
    tap.main()
