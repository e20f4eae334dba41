#!/usr/bin/env python3
"""A stand-in for a Slack incoming webhook, and any service a contact pages through, in the
README test: answers every POST or PUT with 200 and appends its body, one line each, to a
file.

    readme_listener.py PORT FILE
"""

import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Record(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(sys.argv[2], "ab") as out:
            out.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_PUT = do_POST

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Record).serve_forever()
