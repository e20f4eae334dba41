# -*- coding: utf-8 -*-
# Copyright: stackwatch maintainers
# MIT License (see the repository's LICENSE)
"""Runs stackwatch.stackwatch.check in the controller, without a module process."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.stackwatch.stackwatch.plugins.modules import check
from ansible_collections.stackwatch.stackwatch.plugins.plugin_utils.action import StackwatchAction


class ActionModule(StackwatchAction):
    MODULE = check
