#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: stackwatch maintainers
# MIT License (see the repository's LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: stack
short_description: Declare the complete set of one stack's stackwatch checks
version_added: "0.1.0"
description:
  - Makes one stack hold exactly the given checks, in one transaction on the server
    (C(PUT /api/v1/stacks/{stack})); checks of the stack that are not listed are deleted.
  - Reports which checks were created, updated, deleted and left unchanged; C(changed) is
    true only when the server changed something.
  - Check mode asks the server for a dry run; diff mode shows the stack's checks before and after.
author:
  - stackwatch maintainers
extends_documentation_fragment:
  - stackwatch.stackwatch.connection
options:
  name:
    description: The stack's name (C([a-z0-9][a-z0-9._-]{0,127})).
    type: str
    required: true
  state:
    description: C(present) makes the stack hold I(checks); C(absent) deletes all its checks.
    type: str
    choices: [present, absent]
    default: present
  checks:
    description: The stack's checks; each takes the options of M(stackwatch.stackwatch.check) but I(state), I(stack) and the connection options.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The check's name (a StatusCake-style name is turned into a slug, with a warning).
        type: str
        required: true
      url:
        description: The http or https URL to probe. Required for an C(http) check with I(state=present).
        type: str
      kind:
        description:
          - What kind of check. C(http) (the default) probes I(url); C(tcp) connects to I(host)
            and I(port); C(smtp) and C(ssh) read the greeting of the server at I(host);
            C(heartbeat) waits for the job to ping its I(ping_url); C(dns) looks up I(host);
            C(icmp) sends ICMP echo requests to I(host); C(domain) reads when the registration
            of I(domain) expires, once a day through RDAP.
        type: str
        choices: [http, tcp, smtp, ssh, dns, icmp, heartbeat, domain]
      domain:
        description: For C(domain), the registered domain whose expiry is watched (e.g. C(acme.example)); its top-level domain must have an RDAP service.
        type: str
      domain_expiry_days:
        description: For C(domain), days before the registration expires to alert C(domain_expiring) (1 to 365, server default 30).
        type: int
      packets:
        description: For C(icmp), echo requests sent per probe (1 to 10, default 3).
        type: int
      record_type:
        description: For C(dns), the record type to look up (default C(A)).
        type: str
        choices: [A, AAAA, CNAME, MX, TXT, NS]
      nameserver:
        description: For C(dns), the nameserver to ask, C(IP) or C(IP:port) (default the system's).
        type: str
      period:
        description: For C(heartbeat), seconds expected between two pings (10 to 2592000).
        type: int
      grace:
        description: For C(heartbeat), seconds a ping may be late before the check is DOWN (0 to 2592000, server default 0).
        type: int
      schedule:
        description: For C(heartbeat), when the job runs instead of a period, a 5-field cron expression such as C(30 2 * * *) read in I(tz); a ping is due by each run's time plus I(grace).
        type: str
      tz:
        description: For C(heartbeat), the IANA time zone I(schedule) is read in, such as C(Europe/Paris) (default UTC).
        type: str
      grace_first:
        description: For C(heartbeat), seconds a new check waits for its first ping before it is DOWN (10 to 5184000, server default I(period) + I(grace)); it is C(new) until then.
        type: int
      min_runtime:
        description: For C(heartbeat), a run (from C(/start) to its success) shorter than this many seconds is a failure (1 to 2592000, default off).
        type: int
      max_runtime:
        description: For C(heartbeat), a run still going this many seconds after its C(/start) is a failure (1 to 2592000, above I(min_runtime), default off).
        type: int
      min_interval:
        description: For C(heartbeat), a ping sooner than this many seconds after the previous run's is a failure, a job looping (1 to 2592000, below I(period), default off).
        type: int
      host:
        description: For C(tcp), C(smtp), C(ssh), C(dns) and C(icmp) checks, the host name or IP address (for C(dns), the name to look up).
        type: str
      port:
        description: The port (1 to 65535); required for C(tcp), 25 for C(smtp) and 22 for C(ssh) by default.
        type: int
      send:
        description: For C(tcp), text to send once connected.
        type: str
      expect:
        description:
          - For C(tcp), text the server's first bytes must contain; for C(dns), the values (a list)
            the answer must hold.
        type: raw
      method:
        description: HTTP method of the probe (default GET).
        type: str
        choices: [GET, HEAD, POST, PUT]
      test_type:
        description:
          - StatusCake's test type; C(HTTP) probes with GET, C(HEAD) with HEAD, C(TCP), C(SMTP),
            C(SSH), C(DNS) and C(PING) set I(kind).
        type: str
        choices: [HTTP, HEAD, TCP, SMTP, SSH, DNS, PING]
      headers:
        description: Extra request headers, as a dict or a JSON object string.
        type: raw
        aliases: [custom_header]
      body:
        description: Request body (POST and PUT only).
        type: str
      basic_user:
        description: User for HTTP basic authentication of the probe.
        type: str
      basic_pass:
        description: Password for HTTP basic authentication of the probe.
        type: str
      check_rate:
        description: Seconds between probes, 10-86400 (server default 60).
        type: int
      check_timeout:
        description:
          - Seconds one probe may take, 1-75 (server default 10). Named C(timeout) in the API;
            here I(timeout) is the time allowed for the API request.
        type: int
      expected_status:
        description: Codes and ranges that count as up, e.g. C([200, "300-399"]) (server default C(["200-399"])).
        type: list
        elements: raw
      status_codes:
        description:
          - StatusCake's list of status codes that mean DOWN; translated to I(expected_status)
            (every other code from 100 to 599 counts as up). Ignored when I(expected_status) is set.
        type: list
        elements: int
      body_contains:
        description: The first 64 KiB of the body must contain this text.
        type: str
        aliases: [find_string]
      body_not_contains:
        description: The first 64 KiB of the body must not contain this text.
        type: str
      do_not_find:
        description: StatusCake's flag; when true, I(find_string) must not be found (it becomes I(body_not_contains)).
        type: bool
        default: false
      json:
        description: Tests of the JSON body's values by JSONPath (RFC 9535), up to 16, each a dict of C(path) (a JSONPath such as C($.status)) and one test, C(equals), C(not_equals), C(less_than), C(greater_than) or C(exists).
        type: list
        elements: dict
      headers_expect:
        description: Response headers the answer must have, by name, each value a pattern where C(*) is any run of characters, up to 16, such as C(application/json*) for C(content-type).
        type: raw
      body_matches:
        description: A regular expression (Rust's regex syntax, at most 1024 characters) the first 64 KiB of the body must match.
        type: str
      max_response_time_ms:
        description: A slower answer counts as down (milliseconds, 1 to 75000, below the timeout).
        type: int
      degraded_after_ms:
        description: A slower answer, though up, is slow; confirmed slow answers make the check degraded (milliseconds, 1 to 75000, below the timeout and max_response_time_ms; not for heartbeats).
        type: int
      follow_redirects:
        description: Follow up to 10 redirects.
        type: bool
        aliases: [follow_redirect]
      redirect_credentials:
        description:
          - Send basic auth, C(Authorization), C(Cookie), C(Proxy-Authorization) and secret headers on a redirect to another scheme, host or port too (curl's C(--location-trusted)).
          - By default they stay with the URL's origin. Set it only when you trust every redirect target.
        type: bool
      secret_names:
        description:
          - Header and query parameter names whose values are secret beyond those whose names say so (C(authorization), C(cookie), names holding C(key), C(token), C(secret), C(pass), C(auth), C(signature), C(session)); case-insensitive.
          - Their values are shown as C(<redacted>) and never sent to another origin.
        type: list
        elements: str
      verify_tls:
        description: Reject invalid certificates (server default true).
        type: bool
      cert_expiry_days:
        description: Warn this many days before the certificate expires, 0-365, 0 = off (server default 14).
        type: int
      failures_to_confirm:
        description: Consecutive failures before the check is DOWN, 1-10 (server default 2).
        type: int
        aliases: [confirmation]
      successes_to_recover:
        description: Consecutive successes before the check is UP again, 1-10 (server default 1).
        type: int
      retry_interval:
        description: Seconds before re-probing after a first failure, 1-3600, at most I(check_rate) (server default 10).
        type: int
      contacts:
        description: Notifier names to alert; left out means the configured default contacts, C([]) nobody.
        type: list
        elements: str
        aliases: [contact]
      reminder_every:
        description: Repeat the DOWN alert this often while down (seconds, 60-604800).
        type: int
      paused:
        description: Pause (true) or resume (false); left out keeps the current value.
        type: bool
      tags:
        description: Labels for filtering, e.g. C(env:prod).
        type: list
        elements: str
        aliases: [test_tags]
      display_name:
        description: "Free text shown beside the check's name (1-255 characters), e.g. C(Acme :: readiness)."
        type: str
      locations:
        description: Where the check is probed from, 1-16 names, each the server's C(monitor.location) or an agent's location; left out means the server's own. Not for heartbeats.
        type: list
        elements: str
      quorum:
        description: How many of I(locations) must confirm DOWN, 1-16, at most their number (server default a majority).
        type: int
      flap_threshold:
        description: More confirmed changes between UP and DOWN than this within I(flap_window) is flapping, 2-1000 (server default 4).
        type: int
      flap_window:
        description: Seconds flapping is counted over, and that a flapping check must go without a change to be stable, 60-86400 (server default 1800).
        type: int
      escalate_after:
        description: Minutes an outage may go unacknowledged before I(escalate_to) is alerted too, once, 1-10080 (default off).
        type: int
      escalate_to:
        description: Notifier names an escalation alerts, 1-16; with I(escalate_after).
        type: list
        elements: str
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: Register a customer stack's liveness and readiness checks
  stackwatch.stackwatch.stack:
    api_url: https://stackwatch.example.com
    api_token: "{{ stackwatch_token }}"
    name: "{{ inventory_hostname }}"
    checks:
      - name: "{{ inventory_hostname }}-liveness"
        url: "https://{{ inventory_hostname }}.example.com/liveness"
      - name: "{{ inventory_hostname }}-readiness"
        url: "https://{{ inventory_hostname }}.example.com/readiness"
        body_contains: OK
  delegate_to: localhost

- name: Decommission a stack
  stackwatch.stackwatch.stack:
    name: acme
    state: absent
"""

RETURN = r"""
created:
  description: Names of the checks created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
updated:
  description: Names of the checks updated.
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the checks deleted.
  returned: always
  type: list
  elements: str
unchanged:
  description: Names of the checks already as declared.
  returned: always
  type: list
  elements: str
checks:
  description: The stack's checks after the change, as stackwatch stores them.
  returned: when state is present
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackwatch.stackwatch.plugins.module_utils.stackwatch import (
    CHECK_OPTIONS,
    COMMON_ARGS,
    Client,
    StackwatchError,
    check_body,
    check_name,
    comparable,
    module_transport,
)


def by_name(checks):
    return dict((c["name"], comparable(c)) for c in checks or [])


def argument_spec():
    """The module's options (checked against DOCUMENTATION by the collection's tests)."""
    check_options = dict(name=dict(type="str", required=True))
    check_options.update(CHECK_OPTIONS)
    spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        checks=dict(type="list", elements="dict", default=[], options=check_options),
    )
    spec.update(COMMON_ARGS)
    return spec


RULES = dict()


def run(params, client, check_mode, diff, warn):
    """Does the task; returns the result. Shared by the module and the action plugin."""
    path = "/stacks/%s" % params["name"]
    status, current = client.request("GET", path)
    before = current.get("checks", []) if status == 200 else []
    if params["state"] == "absent":
        names = sorted(c["name"] for c in before)
        if names and not check_mode:
            client.request("DELETE", path)
        result = dict(changed=bool(names), created=[], updated=[], deleted=names, unchanged=[])
        if diff:
            result["diff"] = dict(before=by_name(before), after={})
        return result
    items = []
    for item in params["checks"]:
        body = check_body(item, warn)
        body["name"] = check_name(item["name"], warn)
        items.append(body)
    query = "?dry_run=true" if check_mode else ""
    _, answer = client.request("PUT", path + query, {"checks": items})
    result = dict(
        changed=bool(answer.get("changed")),
        created=answer.get("created", []),
        updated=answer.get("updated", []),
        deleted=answer.get("deleted", []),
        unchanged=answer.get("unchanged", []),
        checks=answer.get("checks", []),
    )
    if diff:
        result["diff"] = dict(before=by_name(before), after=by_name(answer.get("checks")))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **RULES)
    client = Client(module.params, module_transport(module))
    try:
        module.exit_json(**run(module.params, client, module.check_mode, module._diff, module.warn))
    except StackwatchError as e:
        module.fail_json(msg=str(e))


if __name__ == "__main__":
    main()
