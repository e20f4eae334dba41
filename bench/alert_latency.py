#!/usr/bin/env python3
"""Time from a target failing to its Slack message arriving.

Starts a local target (each check's path answers 200 until switched to 500), a local
Slack receiver, and a release build of stackwatch with one Slack contact; registers N
checks with the given check fields and waits until all are up. Then it fails the checks'
targets one after another, spread evenly over one check rate (so a failure falls anywhere
in a check's schedule, as real ones do), and prints, for each check, the delay from its
target failing to its [DOWN] message arriving.

    python3 bench/alert_latency.py --checks 10                      # defaults
    python3 bench/alert_latency.py --checks 10 --check-rate 10 --retry-interval 2

Only 127.0.0.1 is contacted. Python standard library only.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "stackwatch")
TOKEN = "alert-latency-bench-token"

failed_at = {}  # path -> monotonic time its target started failing
arrivals = {}


class Target(BaseHTTPRequestHandler):
    def do_GET(self):
        status = 500 if self.path in failed_at else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


class Slack(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        match = re.match(r"\[DOWN\] (\S+):", body.get("text", ""))
        if match and match.group(1) not in arrivals:
            arrivals[match.group(1)] = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=10)
    parser.add_argument("--check-rate", type=int)
    parser.add_argument("--retry-interval", type=int)
    parser.add_argument("--failures-to-confirm", type=int)
    args = parser.parse_args()

    target_port, slack_port, port = serve(Target), serve(Slack), free_port()
    data = tempfile.mkdtemp()
    config = os.path.join(data, "stackwatch.toml")
    with open(config, "w") as f:
        f.write(
            '[alerting]\ndefault_contacts = ["slack"]\n'
            f'[notifiers.slack]\nkind = "slack"\nwebhook_url = "http://127.0.0.1:{slack_port}/hook"\n'
        )
    env = dict(os.environ, STACKWATCH_ADMIN_TOKEN=TOKEN)
    server = subprocess.Popen(
        [BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--config", config],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        fields = {
            k: v
            for k, v in {
                "check_rate": args.check_rate,
                "retry_interval": args.retry_interval,
                "failures_to_confirm": args.failures_to_confirm,
            }.items()
            if v is not None
        }
        checks = [
            dict(name=f"bench-{i:03d}", url=f"http://127.0.0.1:{target_port}/c/{i}", **fields)
            for i in range(args.checks)
        ]
        api(port, "PUT", "/stacks/bench", {"checks": checks})
        while any(api(port, "GET", f"/checks/{c['name']}")["state"] != "up" for c in checks):
            time.sleep(0.5)
        rate = args.check_rate or 60
        for i in range(len(checks)):
            failed_at[f"/c/{i}"] = time.monotonic()
            time.sleep(rate / len(checks))
        deadline = time.monotonic() + 600
        while len(arrivals) < len(checks) and time.monotonic() < deadline:
            time.sleep(0.1)
        delays = sorted(
            arrivals[c["name"]] - failed_at[f"/c/{i}"]
            for i, c in enumerate(checks)
            if c["name"] in arrivals
        )
        print(f"fields: {fields or 'defaults'}; checks: {len(checks)}; messages: {len(delays)}")
        if delays:
            print(
                "failure -> Slack message, seconds: "
                f"min {delays[0]:.1f}, median {statistics.median(delays):.1f}, max {delays[-1]:.1f}"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
