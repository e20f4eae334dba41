"""Per write operation of the API, how many of the valid requests schemathesis generated
(its "positive" cases) were accepted (2xx), and the most common refusals, read from its
NDJSON event log: the share that reached the write itself rather than its validation.
Its "negative" cases, meant to be refused, are counted apart."""

import base64
import collections
import json
import sys

# The write operations, as the document names them.
WRITES = [
    ("PUT", "/api/v1/checks/{name}"),
    ("DELETE", "/api/v1/checks/{name}"),
    ("POST", "/api/v1/checks/{name}/pause"),
    ("POST", "/api/v1/checks/{name}/resume"),
    ("PUT", "/api/v1/stacks/{stack}"),
    ("DELETE", "/api/v1/stacks/{stack}"),
    ("POST", "/api/v1/maintenance"),
    ("DELETE", "/api/v1/maintenance/{id}"),
    ("POST", "/ping/{key}"),
    ("POST", "/ping/{key}/fail"),
    ("POST", "/ping/{key}/start"),
]


def why(response: dict) -> str:
    """The first field and reason of a refusal, or its title."""
    content = (response.get("content") or {}).get("$base64")
    try:
        problem = json.loads(base64.b64decode(content)) if content else {}
    except ValueError:
        return "(not JSON)"
    errors = problem.get("errors") or [] if isinstance(problem, dict) else []
    if errors:
        first = errors[0]
        return f"{first.get('field')}: {str(first.get('reason'))[:60]}"
    return str(problem.get("title", "") if isinstance(problem, dict) else "")[:60]


def main(path: str) -> None:
    sent: collections.Counter = collections.Counter()
    accepted: collections.Counter = collections.Counter()
    negative: collections.Counter = collections.Counter()
    refusals: dict = collections.defaultdict(collections.Counter)
    with open(path, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line).get("ScenarioFinished")
            recorder = (event or {}).get("recorder") or {}
            for case_id, case in (recorder.get("cases") or {}).items():
                value = case["value"]
                key = (value["method"], value["path"])
                interaction = (recorder.get("interactions") or {}).get(case_id)
                if key not in WRITES or not interaction or not interaction.get("response"):
                    continue
                if value["meta"]["generation"]["mode"] != "positive":
                    negative[key] += 1
                    continue
                sent[key] += 1
                response = interaction["response"]
                status = response["status_code"]
                if 200 <= status < 300:
                    accepted[key] += 1
                else:
                    refusals[key][f"{status} {why(response)}"] += 1
    print("write operation: valid requests accepted / sent (share); invalid ones sent apart")
    for key in WRITES:
        if sent[key]:
            share = accepted[key] / sent[key]
            print(f"  {key[0]} {key[1]}: {accepted[key]} / {sent[key]} ({share:.0%}); {negative[key]} invalid")
            for reason, count in refusals[key].most_common(3):
                print(f"      {count} x {reason}")


if __name__ == "__main__":
    main(sys.argv[1])
