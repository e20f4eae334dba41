#!/usr/bin/env python3
"""Acceptance of the Ansible collection against a real stackwatch.

Builds and installs the collection, starts stackwatch on a free port with a temporary data
directory, and runs the example playbook (examples/ansible) for 200 customer stacks:
registration, an idempotent second run, a --check --diff run after one stack's URL changed,
a stack removed with state: absent, and the failures (wrong token, invalid check_rate).
Run by scripts/ansible-acceptance with the virtual environment's Python.

Registered URLs point at 127.0.0.1 so that stackwatch's probes stay on this machine.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)
BINARY = os.environ.get("STACKWATCH_BIN", os.path.join(ROOT, "target", "debug", "stackwatch"))
TOKEN = "acceptance-admin-token-0123456789"
# The example inventory's 200 stacks; fewer (at least 50) for a quicker local run.
STACKS = int(os.environ.get("ACCEPTANCE_STACKS", "200"))


def say(text):
    print("acceptance: " + text, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stackwatch:
    def __init__(self, work):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        data = os.path.join(work, "data")
        self.log = open(os.path.join(work, "stackwatch.log"), "w")
        env = dict(os.environ, STACKWATCH_ADMIN_TOKEN=TOKEN)
        self.process = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:%d" % self.port, "--data-dir", data],
            env=env,
            stderr=self.log,
        )
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/healthz")
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("stackwatch did not start")

    def get(self, path):
        request = urllib.request.Request(self.url + "/api/v1" + path, headers={"Authorization": "Bearer " + TOKEN})
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def delete(self, path):
        request = urllib.request.Request(
            self.url + "/api/v1" + path, method="DELETE", headers={"Authorization": "Bearer " + TOKEN}
        )
        with urllib.request.urlopen(request) as response:
            return response.status

    def all_checks(self):
        checks, after = [], None
        while True:
            path = "/checks?limit=1000" + ("&after=" + after if after else "")
            _, page = self.get(path)
            checks.extend(page["checks"])
            after = page["next_after"]
            if not after:
                return checks

    def stop(self):
        self.process.terminate()
        self.process.wait()
        self.log.close()


TIMING_DEBUG = """
- hosts: customers
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "{{ inventory_hostname }}"
"""

TIMING_STACK = """
- hosts: customers
  gather_facts: false
  tasks:
    - stackwatch.stackwatch.stack:
        name: "timing-{{ inventory_hostname }}"
        checks:
          - name: "timing-{{ inventory_hostname }}-liveness"
            url: "{{ stack_base_url }}/liveness"
          - name: "timing-{{ inventory_hostname }}-readiness"
            url: "{{ stack_base_url }}/readiness"
"""


KINDS = """
- hosts: customer-001
  gather_facts: false
  tasks:
    - stackwatch.stackwatch.check:
        name: "{{ inventory_hostname }}-redis"
        kind: tcp
        host: 127.0.0.1
        port: 9
        send: "PING\\r\\n"
        expect: PONG
    - stackwatch.stackwatch.stack:
        name: "{{ inventory_hostname }}-mail"
        checks:
          - name: "{{ inventory_hostname }}-smtp"
            test_type: SMTP
            host: 127.0.0.1
          - name: "{{ inventory_hostname }}-ssh"
            kind: ssh
            host: 127.0.0.1
            port: 9
          - name: "{{ inventory_hostname }}-dns"
            test_type: DNS
            host: acme.test
            record_type: MX
            expect: [mail.acme.test]
            nameserver: "127.0.0.1:9"
          - name: "{{ inventory_hostname }}-ping"
            test_type: PING
            host: 127.0.0.1
    - stackwatch.stackwatch.check:
        name: "{{ inventory_hostname }}-trusted"
        url: "http://127.0.0.1:9/start?tenant_key=k-1"
        follow_redirects: true
        redirect_credentials: true
        secret_names: [X-Tenant]
        headers: {X-Tenant: acme-tenant-secret}
        locations: [local]
        quorum: 1
        flap_threshold: 6
        flap_window: 600
    - name: A heartbeat for the nightly job
      stackwatch.stackwatch.check:
        name: "{{ inventory_hostname }}-cron"
        kind: heartbeat
        period: 86400
        grace: 3600
"""


def check_kinds(playbook, stackwatch):
    """The tcp, smtp and ssh kinds through the modules (and StatusCake's test_type)."""
    with open(os.path.join(playbook.inventory, "kinds.yml"), "w") as f:
        f.write(KINDS)
    rc, report, _ = playbook.run(playbook="kinds.yml")
    expect(rc == 0 and not playbook.failures(report), "checks of other kinds register: %s" % playbook.failures(report)[:2])
    _, redis = stackwatch.get("/checks/customer-001-redis")
    _, smtp = stackwatch.get("/checks/customer-001-smtp")
    _, ssh = stackwatch.get("/checks/customer-001-ssh")
    expect((redis.get("kind"), redis.get("port"), redis.get("expect")) == ("tcp", 9, "PONG"), "a tcp check: %s" % redis)
    expect((smtp.get("kind"), smtp.get("port")) == ("smtp", 25), "test_type SMTP is an smtp check on port 25: %s" % smtp)
    expect(ssh.get("kind") == "ssh", "an ssh check: %s" % ssh)
    _, dns = stackwatch.get("/checks/customer-001-dns")
    expect((dns.get("kind"), dns.get("record_type"), dns.get("expect")) == ("dns", "MX", ["mail.acme.test"]),
           "test_type DNS is a dns check: %s" % dns)
    _, ping = stackwatch.get("/checks/customer-001-ping")
    expect((ping.get("kind"), ping.get("packets")) == ("icmp", 3), "test_type PING is an icmp check: %s" % ping)
    _, trusted = stackwatch.get("/checks/customer-001-trusted")
    expect((trusted.get("redirect_credentials"), trusted.get("secret_names")) == (True, ["x-tenant"]),
           "redirect_credentials and secret_names reach the check: %s" % trusted)
    expect((trusted.get("locations"), trusted.get("quorum")) == (["local"], 1),
           "locations and quorum reach the check: %s" % trusted)
    expect((trusted.get("flap_threshold"), trusted.get("flap_window")) == (6, 600),
           "flap_threshold and flap_window reach the check: %s" % trusted)
    expect(trusted.get("headers", {}).get("x-tenant") == "<redacted>"
           and trusted.get("url") == "http://127.0.0.1:9/start?tenant_key=<redacted>",
           "a marked header and a secret query value read <redacted>: %s" % trusted)
    beat = [r for play in report["plays"] for t in play["tasks"] if t["task"]["name"] == "A heartbeat for the nightly job"
            for r in t["hosts"].values()][0]
    ping_url = beat.get("ping_url", "")
    expect(ping_url.startswith(stackwatch.url + "/ping/"), "a heartbeat returns its ping URL: %s" % ping_url)
    with urllib.request.urlopen(ping_url) as response:
        expect(response.status == 200, "the ping URL takes a ping")
    rc, report, _ = playbook.run(playbook="kinds.yml")
    expect(rc == 0 and not playbook.changed_tasks(report), "checks of other kinds are idempotent")
    stackwatch.delete("/checks/customer-001-redis")
    stackwatch.delete("/checks/customer-001-trusted")
    stackwatch.delete("/checks/customer-001-cron")
    stackwatch.delete("/stacks/customer-001-mail")


def time_tasks(playbook, stackwatch):
    """One debug task and one stack task over every host, in the same run: (debug, stack
    first run, stack unchanged run) in seconds. The timing stacks are removed after."""
    for name, text in (("timing-debug.yml", TIMING_DEBUG), ("timing-stack.yml", TIMING_STACK)):
        with open(os.path.join(playbook.inventory, name), "w") as f:
            f.write(text)
    rc, _, debug = playbook.run(playbook="timing-debug.yml")
    expect(rc == 0, "the debug timing run succeeds")
    rc, report, first = playbook.run(playbook="timing-stack.yml")
    expect(rc == 0 and len(playbook.changed_tasks(report)) == STACKS, "the stack timing run creates every stack")
    rc, report, unchanged = playbook.run(playbook="timing-stack.yml")
    expect(rc == 0 and not playbook.changed_tasks(report), "the stack timing run is idempotent")
    say("one task over %d hosts: debug %.1f s; stack %.1f s (first run), %.1f s (unchanged)"
        % (STACKS, debug, first, unchanged))
    for number in range(1, STACKS + 1):
        stackwatch.delete("/stacks/timing-customer-%03d" % number)
    return debug, first, unchanged


class Playbook:
    """Runs the example playbook with the JSON callback and reads its results."""

    def __init__(self, work, collections, stackwatch):
        self.inventory = os.path.join(work, "inventory")
        shutil.copytree(os.path.join(ROOT, "examples", "ansible"), self.inventory)
        os.makedirs(os.path.join(self.inventory, "host_vars"), exist_ok=True)
        self.releases = os.path.join(work, "releases")
        os.makedirs(self.releases)
        # Probes of the registered checks stay on this machine: port 9 refuses at once.
        inventory_file = os.path.join(self.inventory, "inventory.yml")
        with open(inventory_file) as f:
            text = f.read()
        text = text.replace(
            'stack_base_url: "https://{{ inventory_hostname }}.customers.example.com"',
            'stack_base_url: "http://127.0.0.1:9/{{ inventory_hostname }}"',
        )
        text = text.replace("customer-[001:200]", "customer-[001:%03d]" % STACKS)
        if "127.0.0.1:9" not in text or ("customer-[001:%03d]" % STACKS) not in text:
            raise SystemExit("the example inventory no longer sets stack_base_url as expected")
        with open(inventory_file, "w") as f:
            f.write(text)
        self.env = dict(
            os.environ,
            ANSIBLE_CONFIG=os.path.join(self.inventory, "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=collections,
            ANSIBLE_STDOUT_CALLBACK="record",
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "ansible", "tests", "callback"),
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_LOCALHOST_WARNING="False",
            STACKWATCH_URL=stackwatch.url,
            STACKWATCH_TOKEN=TOKEN,
        )

    def host_vars(self, host, text):
        with open(os.path.join(self.inventory, "host_vars", host + ".yml"), "w") as f:
            f.write(text)

    def run(self, *args, extra=None, token=None, playbook="deploy.yml"):
        variables = {"release_dir": self.releases}
        variables.update(extra or {})
        env = dict(self.env)
        if token is not None:
            env["STACKWATCH_TOKEN"] = token
        command = [
            os.path.join(VENV_BIN, "ansible-playbook"),
            os.path.join(self.inventory, playbook),
            "-e", json.dumps(variables),
        ] + list(args)
        started = time.monotonic()
        done = subprocess.run(command, env=env, cwd=self.inventory, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        try:
            report = json.loads(done.stdout)
        except ValueError:
            raise SystemExit("ansible-playbook printed no JSON:\n%s\n%s" % (done.stdout[-3000:], done.stderr[-3000:]))
        return done.returncode, report, elapsed

    @staticmethod
    def changed_tasks(report):
        changed = []
        for play in report["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    if result.get("changed"):
                        changed.append((host, task["task"]["name"], result))
        return changed

    @staticmethod
    def failures(report):
        failed = []
        for play in report["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    if result.get("failed"):
                        failed.append((host, task["task"]["name"], result.get("msg", "")))
        return failed


PASSED = []


def statuscake_uri(stackwatch):
    """The StatusCake-API playbook (ansible.builtin.uri, form bodies) pointed at stackwatch:
    the first run creates its checks, the second changes nothing."""
    env = dict(os.environ, STATUSCAKE_API_URL=stackwatch.url, STATUSCAKE_API_KEY=TOKEN,
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    playbook = os.path.join(ROOT, "examples", "statuscake", "uptime-uri.yml")
    runs = []
    for _ in range(2):
        done = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), playbook],
                              env=env, capture_output=True, text=True)
        recap = [line for line in done.stdout.splitlines() if line.startswith("localhost")]
        runs.append((done.returncode, recap[-1] if recap else done.stdout + done.stderr))
    expect(runs[0][0] == 0 and "changed=1" in runs[0][1],
           "the StatusCake uri playbook creates its checks through /v1: %s" % runs[0][1])
    expect(runs[1][0] == 0 and "changed=0" in runs[1][1],
           "its second run changes nothing: %s" % runs[1][1])
    request = urllib.request.Request(stackwatch.url + "/v1/uptime?limit=100",
                                     headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(request) as response:
        names = sorted(c["name"] for c in json.loads(response.read())["data"])
    wanted = ["Acme :: database", "Acme :: liveness", "Acme :: readiness"]
    expect([n for n in names if n.startswith("Acme :: ")] == wanted,
           "the checks are found by their StatusCake names: %s" % names[:5])
    _, check = stackwatch.get("/checks/acme-readiness")
    expect(check.get("body_contains") == "ready" and check.get("expected_status") == ["100-499", 501, "505-599"],
           "their fields are translated: %s" % {k: check.get(k) for k in ("body_contains", "expected_status")})
    for name in ("acme-liveness", "acme-readiness", "acme-database"):
        stackwatch.delete("/checks/" + name)


def slug_vectors():
    """The module's StatusCake-name rule gives what the server's does, on the cases both
    test suites read (tests/slug-vectors.json)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "stackwatch_module_utils", os.path.join(ROOT, "ansible", "plugins", "module_utils", "stackwatch.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(os.path.join(ROOT, "tests", "slug-vectors.json"), encoding="utf-8") as f:
        vectors = json.load(f)["vectors"]
    wrong = [(display, want, module.check_name(display, lambda _: None))
             for display, want in vectors if module.check_name(display, lambda _: None) != want]
    expect(not wrong, "StatusCake names become the check names the server makes (%d cases): %s"
           % (len(vectors), wrong[:3]))


def docs_against_openapi(stackwatch, collections):
    """The check options, their documentation and the README against the API's document."""
    sys.path.insert(0, os.path.join(ROOT, "ansible", "tests"))
    sys.path.insert(0, collections)
    import against_openapi
    from validate_docs import rendered_docs
    from ansible_collections.stackwatch.stackwatch.plugins.module_utils import stackwatch as utils

    with urllib.request.urlopen(stackwatch.url + "/api/v1/openapi.json") as response:
        document = json.loads(response.read())
    check = rendered_docs("check", collections)["doc"]["options"]
    stack = rendered_docs("stack", collections)["doc"]["options"]["checks"]["suboptions"]
    kinds = check["kind"]["choices"]
    problems = against_openapi.check_options(document, utils.CHECK_OPTIONS, utils.DIRECT_FIELDS, check, stack, kinds)
    with open(os.path.join(ROOT, "README.md")) as readme:
        problems += against_openapi.readme_fields(document, readme.read())
    for problem in problems:
        say("against the OpenAPI document: " + problem)
    expect(not problems, "the check options, their documentation and the README's field tables agree with the OpenAPI document")


def expect(condition, message):
    if not condition:
        print("acceptance: %d passed, 1 failed" % len(PASSED))
        raise SystemExit("acceptance FAILED: " + message)
    PASSED.append(message)
    say("ok: " + message)


def main():
    work = tempfile.mkdtemp(prefix="stackwatch-acceptance-")
    collections = os.path.join(work, "collections")
    subprocess.run(
        [os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", os.path.join(ROOT, "ansible"),
         "--output-path", work, "--force"],
        check=True, stdout=subprocess.DEVNULL,
    )
    artifact = [f for f in os.listdir(work) if f.endswith(".tar.gz")][0]
    subprocess.run(
        [os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", os.path.join(work, artifact),
         "-p", collections, "--force"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    say("collection built and installed: " + artifact)
    validate = subprocess.run(
        [sys.executable, os.path.join(ROOT, "ansible", "tests", "validate_docs.py"), collections],
        capture_output=True, text=True,
    )
    print(validate.stdout, end="")
    expect(validate.returncode == 0, "every module's documentation matches its argument spec")
    for module in ("check", "stack", "maintenance"):
        doc = subprocess.run(
            [os.path.join(VENV_BIN, "ansible-doc"), "stackwatch.stackwatch." + module],
            env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections), capture_output=True, text=True,
        )
        expect(doc.returncode == 0 and "EXAMPLES" in doc.stdout, "ansible-doc renders stackwatch.stackwatch." + module)

    stackwatch = Stackwatch(work)
    try:
        docs_against_openapi(stackwatch, collections)
        playbook = Playbook(work, collections, stackwatch)
        rc, report, first = playbook.run()
        expect(rc == 0 and not playbook.failures(report), "the first run succeeds (%s)" % playbook.failures(report)[:3])
        expect(TOKEN not in json.dumps(report), "the token appears nowhere in the results")
        checks = stackwatch.all_checks()
        expect(len(checks) == 2 * STACKS, "stackwatch holds %d checks after %d stacks" % (len(checks), STACKS))
        opened = [h for h, t, _ in playbook.changed_tasks(report) if t == "Silence the stack's alerts while it restarts"]
        closed = [h for h, t, _ in playbook.changed_tasks(report) if t == "Deploy is over"]
        windows = stackwatch.get("/maintenance")[1]["windows"]
        expect(len(opened) == STACKS and len(closed) == STACKS and not windows,
               "every deploy opened a maintenance window and closed it (%d, %d)" % (len(opened), len(closed)))

        say("first run: %.1f s" % first)
        rc, report, second = playbook.run()
        say("second run: %.1f s" % second)
        changed = playbook.changed_tasks(report)
        expect(rc == 0 and not changed, "the second run changes nothing (%d changed)" % len(changed))
        debug, stack_first, stack_unchanged = time_tasks(playbook, stackwatch)
        check_kinds(playbook, stackwatch)
        statuscake_uri(stackwatch)
        slug_vectors()

        playbook.host_vars("customer-007", 'stack_base_url: "http://127.0.0.1:9/moved/customer-007"\n')
        rc, report, _ = playbook.run("--check", "--diff")
        changed = playbook.changed_tasks(report)
        expect(rc == 0 and [(h, t) for h, t, _ in changed] == [("customer-007", "Declare the stack's checks")],
               "--check --diff reports exactly the changed stack: %s" % [(h, t) for h, t, _ in changed])
        result = changed[0][2]
        expect(result.get("updated") == ["customer-007-liveness", "customer-007-readiness"],
               "check mode names the checks that would be updated")
        diff = result.get("diff")
        diff = diff[0] if isinstance(diff, list) else diff
        expect(diff["before"]["customer-007-liveness"]["url"] == "http://127.0.0.1:9/customer-007/liveness"
               and diff["after"]["customer-007-liveness"]["url"] == "http://127.0.0.1:9/moved/customer-007/liveness",
               "the diff shows the URL before and after")
        _, check = stackwatch.get("/checks/customer-007-liveness")
        expect(check["url"] == "http://127.0.0.1:9/customer-007/liveness", "the server still holds the old URL")

        os.remove(os.path.join(playbook.inventory, "host_vars", "customer-007.yml"))
        playbook.host_vars("customer-042", "stack_state: absent\n")
        rc, report, _ = playbook.run()
        changed = playbook.changed_tasks(report)
        expect(rc == 0 and [(h, t) for h, t, _ in changed] == [("customer-042", "Declare the stack's checks")],
               "state: absent changes only the removed stack: %s" % [(h, t) for h, t, _ in changed][:5])
        status, _ = stackwatch.get("/stacks/customer-042")
        expect(status == 404 and len(stackwatch.all_checks()) == 2 * STACKS - 2, "the removed stack's checks are gone")
        os.remove(os.path.join(playbook.inventory, "host_vars", "customer-042.yml"))

        # A deploy that fails on one host still closes that host's window (always:).
        blocker = os.path.join(playbook.releases, "customer-013.release")
        os.remove(blocker)
        os.makedirs(blocker)
        rc, report, _ = playbook.run(extra={"release": "2026.12.1"})
        failures = [(h, t) for h, t, _ in playbook.failures(report)]
        expect(rc != 0 and failures == [("customer-013", "Deploy the release (simulated)")],
               "one host's deploy fails: %s" % failures[:3])
        closed = [h for h, t, _ in playbook.changed_tasks(report) if t == "Deploy is over"]
        windows = stackwatch.get("/maintenance")[1]["windows"]
        expect("customer-013" in closed and len(closed) == STACKS and not windows,
               "its window was closed all the same; no window is left open (%d open)" % len(windows))
        os.rmdir(blocker)

        rc, report, _ = playbook.run("--limit", "customer-001", token="wrong-token-0123456789")
        failures = playbook.failures(report)
        expect(rc != 0 and failures and "refused the token (401)" in failures[0][2],
               "a wrong token fails the play: %s" % (failures[0][2] if failures else None))
        rc, report, _ = playbook.run("--limit", "customer-001", extra={"check_rate": 5})
        failures = playbook.failures(report)
        expect(rc != 0 and failures and "checks[0].check_rate: must be between 10 and 86400, got 5" in failures[0][2],
               "an invalid check_rate fails the play: %s" % (failures[0][2] if failures else None))
        _, check = stackwatch.get("/checks/customer-001-liveness")
        expect(check["check_rate"] == 60, "the rejected change wrote nothing")
        playbook.env["STACKWATCH_URL"] = "http://127.0.0.1:%d" % free_port()
        rc, report, _ = playbook.run("--limit", "customer-001")
        failures = playbook.failures(report)
        expect(rc != 0 and failures and "cannot reach stackwatch at http://127.0.0.1:" in failures[0][2],
               "an unreachable server fails the play: %s" % (failures[0][2] if failures else None))

        say("%d-stack run: %.1f s; idempotent second run: %.1f s; one task over every host: "
            "debug %.1f s, stack %.1f s (first run), %.1f s (unchanged)"
            % (STACKS, first, second, debug, stack_first, stack_unchanged))
        print("acceptance: %d passed, 0 failed" % len(PASSED))
    finally:
        stackwatch.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
