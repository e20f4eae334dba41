# -*- coding: utf-8 -*-
# Copyright: stackwatch maintainers
# MIT License (see the repository's LICENSE)
"""The base of the collection's action plugins: the whole task in the controller's worker,
with no module process. Arguments are validated against the module's own argument spec,
the module's run() does the work over one kept-alive connection, and no_log values are
removed from the result exactly as a module's would be."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.stackwatch.stackwatch.plugins.module_utils.stackwatch import (
    Client,
    PersistentTransport,
    StackwatchError,
)


class StackwatchAction(ActionBase):
    """Subclasses set MODULE: the module whose argument_spec(), RULES and run() to use."""

    MODULE = None
    TRANSFERS_FILES = False
    # stackwatch is called from the controller: the managed host is never contacted.
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(StackwatchAction, self).run(tmp, task_vars)
        validation, params = self.validate_argument_spec(
            argument_spec=self.MODULE.argument_spec(), **self.MODULE.RULES
        )
        warnings = []
        transport = PersistentTransport(params)
        try:
            outcome = self.MODULE.run(
                params,
                Client(params, transport),
                check_mode=bool(self._play_context.check_mode),
                diff=bool(self._play_context.diff),
                warn=warnings.append,
            )
        except StackwatchError as e:
            outcome = dict(failed=True, msg=str(e))
        finally:
            transport.close()
        if warnings:
            outcome["warnings"] = warnings
        outcome.setdefault("invocation", dict(module_args=params))
        result.update(remove_values(outcome, validation._no_log_values))
        return result
