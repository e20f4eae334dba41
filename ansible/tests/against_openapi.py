#!/usr/bin/env python3
"""Holds the Ansible collection's check options and the README's field tables to the API's
OpenAPI document, so neither drifts from what the server accepts:

- every option sent to the API under its own name (DIRECT_FIELDS) is a field of the API,
  of the matching type, with the same choices (kind, method, record_type);
- its description names exactly the kinds the field belongs to (when not an HTTP field),
  states the field's bounds and its server default as the API's description does;
- the check module's options and each item of the stack module's `checks` are documented
  in the same words (one wording, written twice);
- every field of the API has a row in the README's field or kinds table, with the API's
  bounds and default.

Used by acceptance.py, which passes the document fetched from a running stackwatch.
"""

import re

MODULE_TYPES = {"integer": "int", "boolean": "bool", "string": "str", "array": "list"}


def kinds_of(document):
    """Field name -> (set of kinds, the field's schema with the types of every kind's), from
    the check body's shapes; `kind` itself lists every kind."""
    fields = {}
    for shape in document["components"]["schemas"]["CheckBody"]["oneOf"]:
        properties = shape["properties"]
        kind = properties["kind"]["enum"][0]
        for name, schema in properties.items():
            kinds, merged = fields.setdefault(name, (set(), dict(schema, types=set())))
            kinds.add(kind)
            merged["types"] |= types_of(schema)
    return fields


def types_of(schema):
    """The JSON types a field takes, `null` aside."""
    if "oneOf" in schema:
        found = set()
        for choice in schema["oneOf"]:
            found |= types_of(choice)
        return found
    kind = schema.get("type", [])
    kinds = kind if isinstance(kind, list) else [kind]
    return {k for k in kinds if k != "null"}


def pattern_words(pattern):
    """`^([Gg][Ee][Tt]|[Hh]…)$` -> ["GET", …]: the words a case-blind pattern spells."""
    inner = pattern.strip("^$").strip("()")
    return sorted(re.sub(r"\[(\w)\w\]", r"\1", word).upper() for word in inner.split("|"))


def default_of(description):
    found = re.search(r"\(default ([^),;]+)", description or "")
    return found.group(1).strip("`") if found else None


def bounds_of(schema):
    if "minimum" in schema and "maximum" in schema:
        return schema["minimum"], schema["maximum"]
    return None


def text(description):
    return " ".join(description) if isinstance(description, list) else description or ""


def check_options(document, options, direct, module_docs, stack_docs, all_kinds):
    """Problems of the modules' check options against the document."""
    problems = []
    fields = kinds_of(document)
    for name in direct:
        if name not in fields:
            problems.append("option %s is sent to the API, which has no such field" % name)
            continue
        kinds, schema = fields[name]
        wanted = {MODULE_TYPES.get(t, "raw") for t in schema["types"]}
        option_type = options[name].get("type", "str")
        if len(wanted) > 1 and option_type != "raw" or len(wanted) == 1 and option_type not in wanted:
            problems.append("option %s is %s; the API's field is %s" % (name, option_type, sorted(wanted)))
        if "pattern" in schema and "|" in schema["pattern"] and "choices" in options[name]:
            if sorted(options[name]["choices"]) != pattern_words(schema["pattern"]):
                problems.append("option %s offers %s; the API takes %s"
                                % (name, options[name]["choices"], pattern_words(schema["pattern"])))
        doc = text(module_docs.get(name, {}).get("description"))
        if name == "kind":
            if sorted(options[name].get("choices", [])) != sorted(kinds):
                problems.append("option kind offers %s; the API has %s" % (options[name].get("choices"), sorted(kinds)))
            continue
        named = set(re.findall(r"C\((\w+)\)", doc)) & set(all_kinds)
        if "http" not in kinds and named != kinds:
            problems.append("option %s belongs to %s but its description names %s"
                            % (name, sorted(kinds), sorted(named)))
        if not named <= kinds:
            problems.append("option %s names kinds %s that do not have it" % (name, sorted(named - kinds)))
        bounds = bounds_of(schema)
        if bounds and not any(form % bounds in doc for form in ("%d-%d", "%d to %d")):
            problems.append("option %s does not state the API's bounds %d-%d: %r" % ((name,) + bounds + (doc,)))
        default = default_of(schema.get("description"))
        if default and "default" in doc and default not in doc:
            problems.append("option %s gives another default than the API's %s: %r" % (name, default, doc))
    if name_mismatch := [n for n in options if n not in stack_docs or n not in module_docs]:
        problems.append("check options missing from a module's documentation: %s" % name_mismatch)
    for name in options:
        if name in stack_docs and name in module_docs:
            for key in ("description", "type", "choices", "aliases", "elements", "default"):
                if module_docs[name].get(key) != stack_docs[name].get(key):
                    problems.append("option %s: %s differs between check and stack" % (name, key))
    return problems


def readme_rows(readme):
    """Rows of the README's check field table and kinds table (from "Checks: fields and
    defaults" to "Errors"): field -> row text."""
    section = readme.split("## Checks: fields and defaults", 1)[1].split("\n## Errors", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for field in re.findall(r"`(\w+)`", cells[0]):
                rows.setdefault(field, cells)
            if cells[0].strip("`") in ("http", "tcp", "smtp", "ssh", "dns", "icmp", "heartbeat", "domain"):
                for field in re.findall(r"`(\w+)` \(([^)]*)\)", cells[1]):
                    rows.setdefault(field[0], ["", field[1], field[1]])
    return rows


def readme_fields(document, readme):
    """Problems of the README's field tables against the document."""
    problems = []
    rows = readme_rows(readme)
    for name, (_, schema) in sorted(kinds_of(document).items()):
        row = rows.get(name)
        if row is None:
            problems.append("README's field tables have no row for %s" % name)
            continue
        written = " ".join(row[1:])
        bounds = bounds_of(schema)
        if bounds and "%d – %d" % bounds not in written and len(row) == 3 and row[0]:
            problems.append("README's row for %s does not state %d – %d: %r" % ((name,) + bounds + (written,)))
        default = default_of(schema.get("description"))
        if default and default not in written:
            problems.append("README's row for %s does not give the API's default %s: %r" % (name, default, written))
    return problems
