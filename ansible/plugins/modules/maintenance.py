#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: stackwatch maintainers
# MIT License (see the repository's LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: maintenance
short_description: Open or close a stackwatch maintenance window
version_added: "0.1.0"
description:
  - During a maintenance window the checks in its scope are still probed and recorded, but
    nobody is alerted. A deploy opens one for its stack before restarting it and closes it after.
  - Idempotent. With I(state=present), a window of the same scope, target, reason and timing
    that is open or still to come is kept, not opened again. With I(state=absent), the window
    given by I(id), or every window of the scope and target (and reason, when given) that is
    open or still to come, is closed.
  - Supports check mode.
author:
  - stackwatch maintainers
extends_documentation_fragment:
  - stackwatch.stackwatch.connection
options:
  state:
    description: Open (C(present)) or close (C(absent)) windows.
    type: str
    choices: [present, absent]
    default: present
  scope:
    description: What the window covers.
    type: str
    choices: [all, stack, tag, check]
    default: stack
  target:
    description: The stack, tag or check name; not used with I(scope=all).
    type: str
  duration:
    description:
      - Seconds the window stays open (one-off windows, from I(starts_at) or now), or each
        occurrence's length (recurring windows). 1 to 2592000.
    type: int
  starts_at:
    description: Start of a one-off window, RFC 3339 (default now).
    type: str
  ends_at:
    description: End of a one-off window, RFC 3339 (instead of I(duration)).
    type: str
  cron:
    description: A recurring window opens at each time this cron expression names (5 fields).
    type: str
  timezone:
    description: IANA time zone of I(cron), e.g. C(Europe/Paris) (default UTC).
    type: str
  reason:
    description: Why; also what tells this playbook's window apart from others.
    type: str
  public:
    description:
      - Announce the window on the status page of each stack it covers, for the 14 days
        ahead and while it is open, with I(reason).
    type: bool
    default: false
  id:
    description: With I(state=absent), the id of the window to close.
    type: int
notes:
  - Supports check mode.
"""

EXAMPLES = r"""
- name: Silence the stack's alerts during the deploy
  stackwatch.stackwatch.maintenance:
    scope: stack
    target: "{{ inventory_hostname }}"
    duration: 900
    reason: deploy
  delegate_to: localhost

- name: Deploy is over
  stackwatch.stackwatch.maintenance:
    state: absent
    scope: stack
    target: "{{ inventory_hostname }}"
    reason: deploy
  delegate_to: localhost

- name: Every Sunday 02:00-03:00 Paris time for production
  stackwatch.stackwatch.maintenance:
    scope: tag
    target: env:prod
    cron: "0 2 * * Sun"
    duration: 3600
    timezone: Europe/Paris
    reason: weekly patching
"""

RETURN = r"""
window:
  description: The window opened or kept (state present).
  returned: when state is present
  type: dict
  sample: {"id": 3, "scope": "stack", "target": "acme", "active": true, "reason": "deploy"}
closed:
  description: Ids of the windows closed (state absent).
  returned: when state is absent
  type: list
  elements: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackwatch.stackwatch.plugins.module_utils.stackwatch import (
    COMMON_ARGS,
    Client,
    StackwatchError,
    module_transport,
)


def live(window):
    """Open now or still to come."""
    return window.get("next_starts_at") is not None


def same_place(window, params):
    return (
        window.get("scope") == params["scope"]
        and window.get("target") == (None if params["scope"] == "all" else params["target"])
        and (params["reason"] is None or window.get("reason") == params["reason"])
    )


def same_timing(window, params):
    if bool(window.get("public")) != params["public"]:
        return False
    if params["cron"]:
        return (
            window.get("cron") == params["cron"]
            and window.get("duration") == params["duration"]
            and window.get("timezone") == (params["timezone"] or "UTC")
        )
    return window.get("cron") is None


def argument_spec():
    """The module's options (checked against DOCUMENTATION by the collection's tests)."""
    spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        scope=dict(type="str", choices=["all", "stack", "tag", "check"], default="stack"),
        target=dict(type="str"),
        duration=dict(type="int"),
        starts_at=dict(type="str"),
        ends_at=dict(type="str"),
        cron=dict(type="str"),
        timezone=dict(type="str"),
        reason=dict(type="str"),
        public=dict(type="bool", default=False),
        id=dict(type="int"),
    )
    spec.update(COMMON_ARGS)
    return spec


RULES = dict(
    required_if=[("scope", "stack", ["target"]), ("scope", "tag", ["target"]), ("scope", "check", ["target"])]
)


def run(params, client, check_mode, diff, warn):
    """Does the task; returns the result. Shared by the module and the action plugin."""
    _, listing = client.request("GET", "/maintenance")
    windows = [w for w in listing.get("windows", []) if live(w)]
    if params["state"] == "absent":
        if params["id"] is not None:
            closing = [w for w in windows if w.get("id") == params["id"]]
        else:
            closing = [w for w in windows if same_place(w, params)]
        if not check_mode:
            for window in closing:
                client.request("DELETE", "/maintenance/%d" % window["id"])
        return dict(changed=bool(closing), closed=[w["id"] for w in closing])
    existing = [w for w in windows if same_place(w, params) and same_timing(w, params)]
    if existing:
        return dict(changed=False, window=existing[0])
    body = dict(scope=params["scope"])
    if params["scope"] != "all":
        body["target"] = params["target"]
    for field in ("duration", "starts_at", "ends_at", "cron", "timezone", "reason"):
        if params[field] is not None:
            body[field] = params[field]
    if params["public"]:
        body["public"] = True
    if check_mode:
        return dict(changed=True, window=body)
    _, window = client.request("POST", "/maintenance", body)
    return dict(changed=True, window=window)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **RULES)
    client = Client(module.params, module_transport(module))
    try:
        module.exit_json(**run(module.params, client, module.check_mode, module._diff, module.warn))
    except StackwatchError as e:
        module.fail_json(msg=str(e))


if __name__ == "__main__":
    main()
