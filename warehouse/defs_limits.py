"""Limits for indicator_defs.yaml, so that a hostile or broken file is refused quickly with a clear message.

- MAX_BYTES: the file size (the shipped file is about 120 KB);
- MAX_NODES: YAML nodes after expanding anchors and aliases (the shipped file has about 9,300). An "alias bomb"
  (`a: &a [x, x, ...]`, `b: &b [*a, *a, ...]`, ...) is a few hundred bytes that expand to billions of nodes:
  PyYAML composes it cheaply (an alias is a reference to the same node); `check_expansion` measures the expanded
  size with memoised node sizes before the loader walks (and would expand) anything, so a 366-byte bomb that
  took 640 MB is now refused in milliseconds;
- MAX_DEPTH: nesting depth (also stops a recursive alias, `&a [*a]`). `check_flow_depth` looks at the text
  before PyYAML does: 100,000 nested `[` took PyYAML's scanner 4–8 s before its own depth error; the pre-scan
  refuses them in milliseconds, naming the line and column where the nesting passes MAX_DEPTH.

Change them here; docs/operations.md says how.
"""

from __future__ import annotations

import re

import yaml

MAX_BYTES = 4_000_000
MAX_NODES = 500_000
MAX_DEPTH = 64


DEPTH_MESSAGE = f"the file is nested more than {MAX_DEPTH} levels deep (or an alias refers to itself)"


class DefinitionsTooLarge(Exception):
    """The file exceeds one of the limits; str() is the message for the analyst (English, as the loader's);
    `at` the (line, column) it points to, when known."""

    def __init__(self, message: str, at: tuple[int, int] = (1, 1)) -> None:
        super().__init__(message)
        self.at = at


_FLOW_MARKS = re.compile(r"[\[\]{}'\"#\n]")
# a bracket or quote after one of these (or at a line start) opens something: in flow and in block context
_FLOW_START, _BLOCK_START = " \t\n:,[{", " \t\n"


def check_flow_depth(text: str) -> None:
    """Raise DefinitionsTooLarge when flow collections (`[` / `{`) nest deeper than MAX_DEPTH. A cheap pass over
    the brackets, quotes, comments and line ends only; quoted text and comments are skipped, and in block context
    a bracket counts only where a value can start (so `a[b` in a plain scalar does not). It may miss a nesting
    (PyYAML then stops it, slower) but does not refuse a file PyYAML would nest less than MAX_DEPTH deep."""
    depth = 0
    quote = ""  # the open quote character, if any
    skip_to = -1  # inside a comment or a quoted scalar: ignore marks before this position
    line, line_start = 1, 0
    for match in _FLOW_MARKS.finditer(text):
        i, ch = match.start(), match.group()
        if ch == "\n":
            line, line_start = line + 1, i + 1
        if i < skip_to:
            continue
        if quote:
            if ch != quote:
                continue
            if quote == "'" and text.startswith("''", i):  # an escaped quote
                skip_to = i + 2
                continue
            if quote == '"':
                j = i
                while j > 0 and text[j - 1] == "\\":
                    j -= 1
                if (i - j) % 2:  # an escaped quote
                    continue
            quote = ""
            continue
        before = text[i - 1] if i > line_start else "\n"
        starts = _FLOW_START if depth else _BLOCK_START
        if ch == "#" and before in " \t\n":
            end = text.find("\n", i)
            skip_to = len(text) if end < 0 else end
        elif ch in "'\"" and before in starts:
            quote = ch
        elif ch in "[{" and before in starts:
            depth += 1
            if depth > MAX_DEPTH:
                raise DefinitionsTooLarge(
                    f"the file nests `[` / `{{` more than {MAX_DEPTH} levels deep (line {line}, column "
                    f"{i - line_start + 1})", at=(line, i - line_start + 1))
        elif ch in "]}" and depth > 0:
            depth -= 1


def size_message(size: int) -> str:
    return (f"the file is {size:,} bytes, more than the {MAX_BYTES:,} bytes allowed for a definitions file "
            f"(the limit is MAX_BYTES in warehouse/defs_limits.py)")


def check_expansion(root: yaml.Node) -> None:
    """Raise DefinitionsTooLarge when the composed YAML would expand to more than MAX_NODES nodes or nest deeper
    than MAX_DEPTH. Linear in the distinct nodes (an alias is the same node object: its size is memoised), so a
    bomb is measured without being expanded."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH or key in on_path:
            raise DefinitionsTooLarge(DEPTH_MESSAGE)
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                total += size(v, depth + 1)
        on_path.discard(key)
        if total > MAX_NODES:
            raise DefinitionsTooLarge(
                f"the file expands to more than {MAX_NODES:,} YAML nodes (anchors and aliases `&x` / `*x` "
                "repeated inside each other multiply); write the values out or use fewer aliases")
        sizes[key] = total
        return total

    size(root, 0)
