# -*- coding: utf-8 -*-
# Copyright: stackwatch maintainers
# MIT License (see the repository's LICENSE)
"""The options every stackwatch module takes to reach the API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  api_url:
    description: Base URL of stackwatch, e.g. C(https://stackwatch.example.com). Also C(STACKWATCH_URL).
    type: str
    required: true
  api_token:
    description: An admin token. Also C(STACKWATCH_TOKEN). Never logged.
    type: str
    required: true
    aliases: [api_key]
  validate_certs:
    description: Verify stackwatch's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds allowed for each API request.
    type: int
    default: 30
"""
