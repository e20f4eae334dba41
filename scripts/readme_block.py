#!/usr/bin/env python3
"""Prints an example of README.md: the Nth (default 1st) ```sh block (or ```LANG block)
under a heading, before the next heading. Used by scripts/readme-test, so the README's
examples are what the test runs, word for word.

    readme_block.py README.md "### Registering a stack with curl" [N] [LANG]
"""

import sys


def block(path, heading, nth, lang="sh"):
    lines = open(path, encoding="utf-8").read().splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        raise SystemExit("README has no heading %r" % heading)
    found, inside, text = 0, False, []
    for line in lines[start + 1:]:
        if not inside and line.startswith("#") and not line.startswith("#!"):
            break
        if not inside and line.strip() == "```" + lang:
            found += 1
            inside = True
            continue
        if inside and line.strip() == "```":
            if found == nth:
                return "\n".join(text) + "\n"
            inside, text = False, []
            continue
        if inside:
            text.append(line)
    raise SystemExit("no %s block %d under %r" % (lang, nth, heading))


if __name__ == "__main__":
    nth = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    lang = sys.argv[4] if len(sys.argv) > 4 else "sh"
    sys.stdout.write(block(sys.argv[1], sys.argv[2], nth, lang))
