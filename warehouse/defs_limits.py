"""Limits for indicator_defs.yaml, so that a hostile or broken file is refused quickly with a clear message.

- MAX_BYTES: the file size (the shipped file is about 120 KB);
- MAX_NODES: YAML nodes after expanding anchors and aliases (the shipped file has about 9,300). An "alias bomb"
  (`a: &a [x, x, ...]`, `b: &b [*a, *a, ...]`, ...) is a few hundred bytes that expand to billions of nodes:
  PyYAML composes it cheaply (an alias is a reference to the same node); `check_expansion` measures the expanded
  size with memoised node sizes before the loader walks (and would expand) anything, so a 366-byte bomb that
  took 640 MB is now refused in milliseconds;
- MAX_DEPTH: nesting depth (also stops a recursive alias, `&a [*a]`).

Change them here; docs/operations.md says how.
"""

from __future__ import annotations

import yaml

MAX_BYTES = 4_000_000
MAX_NODES = 500_000
MAX_DEPTH = 64


DEPTH_MESSAGE = f"the file is nested more than {MAX_DEPTH} levels deep (or an alias refers to itself)"


class DefinitionsTooLarge(Exception):
    """The file exceeds one of the limits; str() is the message for the analyst (English, as the loader's)."""


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
