"""A YAML subset reader for training configs (PyYAML is not a dependency of python/).

Supported: block mappings nested by indentation, block lists (``- item``) of scalars or mappings, flow lists
(``[a, b]``), scalars (int, float, true/false, null/~, quoted or bare strings), ``#`` comments. Anything else is a
``ValueError`` naming the file and line.
"""
from __future__ import annotations

import json
import re

_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def scalar(s: str, where: str):
    s = s.strip()
    if s == "" or s in ("null", "~", "Null", "NULL"):
        return None
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if s[0] in "\"'":
        if len(s) < 2 or s[-1] != s[0]:
            raise ValueError(f"{where}: unterminated string {s!r}")
        return json.loads(s) if s[0] == '"' else s[1:-1].replace("''", "'")
    if s[0] == "[":
        if s[-1] != "]":
            raise ValueError(f"{where}: unterminated flow list {s!r}")
        inner = s[1:-1].strip()
        return [] if not inner else [scalar(x, where) for x in inner.split(",")]
    if s[0] == "{":
        raise ValueError(f"{where}: flow mappings ({{...}}) are not supported; use an indented block or JSON")
    if _NUM.match(s):
        return int(s) if re.match(r"^[+-]?\d+$", s) else float(s)
    return s


def _strip_comment(line: str) -> str:
    out, q = [], None
    for i, ch in enumerate(line):
        if q:
            if ch == q:
                q = None
        elif ch in "\"'":
            q = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def loads(text: str, source: str = "<config>"):
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError(f"{source}:{n}: tab in indentation")
        s = _strip_comment(raw)
        if s.strip() in ("", "---"):
            continue
        lines.append((n, len(s) - len(s.lstrip()), s.strip()))
    pos = 0

    def block(indent: int):
        nonlocal pos
        if pos >= len(lines):
            return None
        n, ind, s = lines[pos]
        if s.startswith("- ") or s == "-":
            out = []
            while pos < len(lines) and lines[pos][1] == indent and (lines[pos][2].startswith("- ") or lines[pos][2] == "-"):
                n, ind, s = lines[pos]
                item = s[1:].strip()
                if item and re.match(r"^[^\"'\[][^:]*:(\s|$)", item):  # "- key: value" starts a mapping
                    lines[pos] = (n, ind + 2, item)
                    out.append(block(ind + 2))
                else:
                    pos += 1
                    out.append(scalar(item, f"{source}:{n}") if item else block_child(ind))
            return out
        out = {}
        while pos < len(lines) and lines[pos][1] == indent:
            n, ind, s = lines[pos]
            m = re.match(r"^(\"[^\"]*\"|'[^']*'|[^:#]+?)\s*:(\s+(.*))?$", s)
            if not m:
                raise ValueError(f"{source}:{n}: expected 'key: value', got {s!r}")
            key = m.group(1).strip("\"'")
            if key in out:
                raise ValueError(f"{source}:{n}: duplicate key {key!r}")
            pos += 1
            out[key] = scalar(m.group(3), f"{source}:{n}") if m.group(3) else block_child(indent)
        if pos < len(lines) and lines[pos][1] > indent:
            raise ValueError(f"{source}:{lines[pos][0]}: unexpected indentation")
        return out

    def block_child(parent_indent: int):
        if pos < len(lines) and lines[pos][1] > parent_indent:
            return block(lines[pos][1])
        if pos < len(lines) and lines[pos][1] == parent_indent and lines[pos][2].startswith("- "):
            return block(parent_indent)
        return None

    if not lines:
        return {}
    result = block(lines[0][1])
    if pos < len(lines):
        raise ValueError(f"{source}:{lines[pos][0]}: unexpected content (indentation?)")
    return result
