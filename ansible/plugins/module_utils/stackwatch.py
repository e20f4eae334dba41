# -*- coding: utf-8 -*-
# Copyright: stackwatch maintainers
# MIT License (see the repository's LICENSE)
"""Shared by the stackwatch modules: common options, the HTTP client, error messages, and
the translation of check options (including StatusCake's names) into API fields."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import ssl

import http.client as http_client
from urllib import parse as urlparse

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.urls import fetch_url

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")

COMMON_ARGS = dict(
    api_url=dict(type="str", required=True, fallback=(env_fallback, ["STACKWATCH_URL"])),
    api_token=dict(
        type="str",
        required=True,
        no_log=True,
        aliases=["api_key"],
        fallback=(env_fallback, ["STACKWATCH_TOKEN"]),
    ),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="int", default=30),
)

# Check options shared by the check module and each item of the stack module. StatusCake's
# names are aliases where they mean the same; the others are translated in check_body().
CHECK_OPTIONS = dict(
    url=dict(type="str"),
    kind=dict(
        type="str",
        choices=["http", "tcp", "smtp", "ssh", "dns", "icmp", "heartbeat", "domain"],
    ),
    domain=dict(type="str"),
    domain_expiry_days=dict(type="int"),
    packets=dict(type="int"),
    record_type=dict(type="str", choices=["A", "AAAA", "CNAME", "MX", "TXT", "NS"]),
    nameserver=dict(type="str"),
    period=dict(type="int"),
    grace=dict(type="int"),
    grace_first=dict(type="int"),
    schedule=dict(type="str"),
    tz=dict(type="str"),
    min_runtime=dict(type="int"),
    max_runtime=dict(type="int"),
    min_interval=dict(type="int"),
    host=dict(type="str"),
    port=dict(type="int"),
    send=dict(type="str"),
    expect=dict(type="raw"),
    method=dict(type="str", choices=["GET", "HEAD", "POST", "PUT"]),
    test_type=dict(type="str", choices=["HTTP", "HEAD", "TCP", "SMTP", "SSH", "DNS", "PING"]),
    headers=dict(type="raw", aliases=["custom_header"]),
    body=dict(type="str"),
    basic_user=dict(type="str"),
    basic_pass=dict(type="str", no_log=True),
    check_rate=dict(type="int"),
    check_timeout=dict(type="int"),
    expected_status=dict(type="list", elements="raw"),
    status_codes=dict(type="list", elements="int"),
    body_contains=dict(type="str", aliases=["find_string"]),
    body_not_contains=dict(type="str"),
    do_not_find=dict(type="bool", default=False),
    json=dict(type="list", elements="dict"),
    headers_expect=dict(type="raw"),
    body_matches=dict(type="str"),
    max_response_time_ms=dict(type="int"),
    degraded_after_ms=dict(type="int"),
    follow_redirects=dict(type="bool", aliases=["follow_redirect"]),
    redirect_credentials=dict(type="bool"),
    secret_names=dict(type="list", elements="str"),
    verify_tls=dict(type="bool"),
    cert_expiry_days=dict(type="int"),
    failures_to_confirm=dict(type="int", aliases=["confirmation"]),
    successes_to_recover=dict(type="int"),
    retry_interval=dict(type="int"),
    contacts=dict(type="list", elements="str", aliases=["contact"]),
    reminder_every=dict(type="int"),
    paused=dict(type="bool"),
    tags=dict(type="list", elements="str", aliases=["test_tags"]),
    display_name=dict(type="str"),
    locations=dict(type="list", elements="str"),
    quorum=dict(type="int"),
    flap_threshold=dict(type="int"),
    flap_window=dict(type="int"),
    escalate_after=dict(type="int"),
    escalate_to=dict(type="list", elements="str"),
)

# Options whose value goes to the API under the same name.
DIRECT_FIELDS = [
    "url",
    "kind",
    "host",
    "port",
    "send",
    "expect",
    "period",
    "grace",
    "grace_first",
    "schedule",
    "tz",
    "min_runtime",
    "max_runtime",
    "min_interval",
    "record_type",
    "domain",
    "domain_expiry_days",
    "nameserver",
    "packets",
    "method",
    "body",
    "check_rate",
    "body_not_contains",
    "json",
    "headers_expect",
    "body_matches",
    "max_response_time_ms",
    "degraded_after_ms",
    "follow_redirects",
    "redirect_credentials",
    "secret_names",
    "verify_tls",
    "cert_expiry_days",
    "failures_to_confirm",
    "successes_to_recover",
    "retry_interval",
    "contacts",
    "reminder_every",
    "paused",
    "tags",
    "display_name",
    "locations",
    "quorum",
    "flap_threshold",
    "flap_window",
    "escalate_after",
    "escalate_to",
]


class StackwatchError(Exception):
    """A request failed; the message says why in words a playbook author can act on."""


def check_name(value, warn):
    """The check's name; a StatusCake-style name ("My service check") becomes a slug by the
    server's one rule (tests/slug-vectors.json holds the cases both test suites read): a
    valid name stays; else lowercase, each run of characters other than a-z and 0-9 one
    "-", none at the start, cut to 120 characters, none at the end; "check" if empty."""
    if NAME_PATTERN.match(value):
        return value
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).lstrip("-")[:120].rstrip("-") or "check"
    warn("check name %r is registered as %r (names are [a-z0-9][a-z0-9._-]{0,127})" % (value, slug))
    return slug


def complement_codes(down_codes):
    """StatusCake's status_codes are the codes that mean DOWN; stackwatch wants the codes
    that mean UP: every code from 100 to 599 but those, as ranges."""
    down = sorted(set(int(c) for c in down_codes))
    ranges, start = [], 100
    for code in down:
        if code > start:
            ranges.append(str(start) if code - 1 == start else "%d-%d" % (start, code - 1))
        start = max(start, code + 1)
    if start <= 599:
        ranges.append(str(start) if start == 599 else "%d-599" % start)
    return ranges


def check_body(options, warn):
    """The API body of a check from module options (None values are left out, so the
    server applies its defaults)."""
    body = {}
    for field in DIRECT_FIELDS:
        if options.get(field) is not None:
            body[field] = options[field]
    if options.get("check_timeout") is not None:
        body["timeout"] = options["check_timeout"]
    if options.get("test_type") == "HEAD" and "method" not in body:
        body["method"] = "HEAD"
    if options.get("test_type") in ("TCP", "SMTP", "SSH", "DNS", "PING") and "kind" not in body:
        body["kind"] = "icmp" if options["test_type"] == "PING" else options["test_type"].lower()
    headers = options.get("headers")
    if isinstance(headers, str) and headers.strip():
        try:
            headers = json.loads(headers)
        except ValueError:
            raise StackwatchError("headers (custom_header) must be a dict or a JSON object")
    if headers:
        if not isinstance(headers, dict):
            raise StackwatchError("headers (custom_header) must be a dict")
        body["headers"] = dict((str(k), str(v)) for k, v in headers.items())
    if options.get("basic_user") is not None:
        body["basic_auth"] = {"username": options["basic_user"], "password": options.get("basic_pass") or ""}
    keyword = options.get("body_contains")
    if keyword is not None:
        if options.get("do_not_find"):
            body["body_not_contains"] = keyword
        else:
            body["body_contains"] = keyword
    if options.get("expected_status") is not None:
        body["expected_status"] = options["expected_status"]
    elif options.get("status_codes"):
        body["expected_status"] = complement_codes(options["status_codes"])
    return body


class Client:
    """Talks to the stackwatch API. `transport` sends one request: the module's goes
    through fetch_url; the action plugins' keeps one connection for the whole task."""

    def __init__(self, params, transport):
        self.base = params["api_url"].rstrip("/")
        self.token = params["api_token"]
        self.transport = transport

    def request(self, method, path, body=None, allow=(200, 201)):
        """Sends a request; returns (status, document). Any status outside `allow` and
        404 raises StackwatchError with the server's field errors."""
        url = self.base + "/api/v1" + path
        headers = {"Authorization": "Bearer %s" % self.token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        status, raw, msg = self.transport(method, url, data, headers)
        document = _json(raw)
        if status in allow or status == 404:
            return status, document
        raise StackwatchError(_describe(status, msg, document, self.base))


def module_transport(module):
    """Requests through Ansible's fetch_url, inside a module."""

    def send(method, url, data, headers):
        response, info = fetch_url(
            module, url, data=data, headers=headers, method=method, timeout=module.params["timeout"]
        )
        # On an HTTP error fetch_url has already read the body into info["body"].
        raw = info.get("body") or (response.read() if response is not None else b"")
        return info.get("status", -1), raw, info.get("msg", "")

    return send


class PersistentTransport:
    """Requests on one kept-alive connection to stackwatch, for the requests of one task in
    the controller (an action plugin). Nothing outlives the task: each task, and so each
    host, opens its own."""

    def __init__(self, params):
        self.timeout = params["timeout"]
        self.validate_certs = params["validate_certs"]
        self.connection = None
        self.origin = None

    def _connect(self, parts):
        if parts.scheme == "https":
            context = ssl.create_default_context()
            if not self.validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            return http_client.HTTPSConnection(parts.netloc, timeout=self.timeout, context=context)
        return http_client.HTTPConnection(parts.netloc, timeout=self.timeout)

    def __call__(self, method, url, data, headers):
        parts = urlparse.urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        for attempt in (1, 2):
            if self.connection is None or self.origin != (parts.scheme, parts.netloc):
                self.close()
                self.connection = self._connect(parts)
                self.origin = (parts.scheme, parts.netloc)
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read(), response.reason
            except (http_client.HTTPException, OSError) as e:
                self.close()
                # A kept-alive connection the server has closed meanwhile: an idempotent
                # request is tried once anew.
                stale = isinstance(e, (http_client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
                if attempt == 2 or not stale or method == "POST":
                    return -1, b"", str(e)
        return -1, b"", "no answer"

    def close(self):
        if self.connection is not None:
            self.connection.close()
        self.connection = None


def _json(raw):
    if not raw:
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except ValueError:
        return {"detail": raw[:200]}


def _describe(status, msg, document, base):
    if status == -1:
        return "cannot reach stackwatch at %s: %s" % (base, msg or "no answer")
    if status == 401:
        return "stackwatch refused the token (401): check api_token (or STACKWATCH_TOKEN)"
    if status == 403:
        return "the token may only read (403): writing needs an admin token"
    errors = document.get("errors") if isinstance(document, dict) else None
    if errors:
        fields = "; ".join("%s: %s" % (e.get("field"), e.get("reason")) for e in errors)
        return "stackwatch rejected the request (%d): %s" % (status, fields)
    detail = document.get("detail") if isinstance(document, dict) else None
    return "stackwatch answered %d: %s" % (status, detail or msg or "")


def comparable(check):
    """A check as shown in diffs: without its timestamps and live state."""
    if not check:
        return {}
    hidden = (
        "created_at",
        "updated_at",
        "state",
        "state_since",
        "last_result",
        "cert_expires_at",
        "impacted_by",
        "location_states",
    )
    return dict((k, v) for k, v in check.items() if k not in hidden)
