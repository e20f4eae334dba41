"""Per write operation of the API, how many of the requests schemathesis sent were
accepted (2xx), read from its HAR recording: the share that reached the write itself
rather than its validation."""

import collections
import json
import re
import sys
from urllib.parse import urlsplit

# The write operations, as (method, path pattern) with the document's path.
WRITES = [
    ("PUT", r"/api/v1/checks/[^/]+", "/api/v1/checks/{name}"),
    ("DELETE", r"/api/v1/checks/[^/]+", "/api/v1/checks/{name}"),
    ("POST", r"/api/v1/checks/[^/]+/pause", "/api/v1/checks/{name}/pause"),
    ("POST", r"/api/v1/checks/[^/]+/resume", "/api/v1/checks/{name}/resume"),
    ("PUT", r"/api/v1/stacks/[^/]+", "/api/v1/stacks/{stack}"),
    ("DELETE", r"/api/v1/stacks/[^/]+", "/api/v1/stacks/{stack}"),
    ("POST", r"/api/v1/maintenance", "/api/v1/maintenance"),
    ("DELETE", r"/api/v1/maintenance/[^/]+", "/api/v1/maintenance/{id}"),
    ("POST", r"/ping/[^/]+(/fail|/start)?", "/ping/{key}[/fail|/start]"),
]


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)["log"]["entries"]
    sent: collections.Counter = collections.Counter()
    accepted: collections.Counter = collections.Counter()
    for entry in entries:
        method = entry["request"]["method"]
        url_path = urlsplit(entry["request"]["url"]).path
        for write_method, pattern, name in WRITES:
            if method == write_method and re.fullmatch(pattern, url_path):
                sent[(method, name)] += 1
                if 200 <= entry["response"]["status"] < 300:
                    accepted[(method, name)] += 1
                break
    print("write operation: accepted / sent (share)")
    for method, _, name in WRITES:
        key = (method, name)
        if sent[key]:
            print(f"  {method} {name}: {accepted[key]} / {sent[key]} ({accepted[key] / sent[key]:.0%})")


if __name__ == "__main__":
    main(sys.argv[1])
