#!/usr/bin/env python3
"""Checks every module's documentation (as ansible-doc renders it, fragments merged) against its argument spec, as ansible-test's
validate-modules would (it cannot run here: it downloads its own pip). For each option,
and each suboption: present in both, same type, required, default, choices, aliases and
list elements. Also: EXAMPLES parses as YAML, RETURN is there, and DOCUMENTATION has what
ansible-doc needs. Run with the Python that has ansible-core, from the repository root:

    .venv/bin/python ansible/tests/validate_docs.py BUILD_DIR

where BUILD_DIR/ansible_collections/stackwatch/stackwatch is the collection.
"""

import importlib
import json
import os
import subprocess
import sys

import yaml

MODULES = ["check", "stack", "maintenance"]


def compare(module, path, docs, spec, problems):
    for name in sorted(set(docs) | set(spec)):
        where = "%s: %s%s" % (module, path, name)
        if name not in docs:
            problems.append("%s is in the argument spec but not documented" % where)
            continue
        if name not in spec:
            problems.append("%s is documented but not in the argument spec" % where)
            continue
        doc, arg = docs[name], spec[name]
        if not doc.get("description"):
            problems.append("%s has no description" % where)
        for key, fallback in (("type", "str"), ("required", False), ("default", None),
                              ("choices", None), ("elements", None)):
            if doc.get(key, fallback) != arg.get(key, fallback):
                problems.append("%s: %s is %r in the docs but %r in the spec"
                                % (where, key, doc.get(key, fallback), arg.get(key, fallback)))
        if sorted(doc.get("aliases", [])) != sorted(arg.get("aliases", [])):
            problems.append("%s: aliases differ (%r, %r)" % (where, doc.get("aliases"), arg.get("aliases")))
        if "options" in arg or "suboptions" in doc:
            compare(module, path + name + ".", doc.get("suboptions", {}), arg.get("options", {}), problems)


def rendered_docs(name, build):
    """The module's documentation as ansible-doc renders it, fragments merged."""
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json", "-t", "module",
         "stackwatch.stackwatch." + name],
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=build),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["stackwatch.stackwatch." + name]


def main():
    build = sys.argv[1]
    sys.path.insert(0, build)
    problems = []
    for name in MODULES:
        module = importlib.import_module("ansible_collections.stackwatch.stackwatch.plugins.modules." + name)
        rendered = rendered_docs(name, build)
        docs = rendered["doc"]
        for key in ("module", "short_description", "description", "options", "author"):
            if key not in docs:
                problems.append("%s: DOCUMENTATION lacks %s" % (name, key))
        if docs.get("module") != name:
            problems.append("%s: DOCUMENTATION names module %r" % (name, docs.get("module")))
        if not rendered.get("examples") or not rendered.get("return"):
            problems.append("%s: EXAMPLES or RETURN is empty" % name)
        else:
            yaml.safe_load(rendered["examples"])
        compare(name, "", docs["options"], module.argument_spec(), problems)
    for problem in problems:
        print("validate_docs: " + problem)
    print("validate_docs: %d modules, %d problems" % (len(MODULES), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
