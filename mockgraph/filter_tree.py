"""Measure and flatten odata-query syntax trees without recursion.

A ``$filter`` can nest thousands of levels deep, such as ``not not ... not x``, and a
recursive walk of such a tree exhausts the Python stack. These helpers walk with an
explicit stack instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from odata_query import ast


def nesting_depth(node: ast._Node) -> int:
    """Return how many levels deep ``node``'s syntax tree nests.

    Operands of a chain of one boolean operator, such as ``a or b or c``, share a
    level. The tree is walked without recursion, so any depth can be measured.
    """
    deepest = 0
    pending = [(node, 1)]
    while pending:
        current, depth = pending.pop()
        deepest = max(deepest, depth)
        for child in _children(current):
            same_chain = (
                isinstance(current, ast.BoolOp)
                and isinstance(child, ast.BoolOp)
                and type(child.op) is type(current.op)
            )
            pending.append((child, depth if same_chain else depth + 1))

    return deepest


def _children(node: ast._Node) -> Iterator[ast._Node]:
    if not dataclasses.is_dataclass(node):
        return

    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, ast._Node):
                yield item


def chain_operands(node: ast.BoolOp) -> list[ast._Node]:
    """Return the operands of the chain of ``node``'s operator, from left to right."""
    operands = []
    pending: list[ast._Node] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, ast.BoolOp) and type(current.op) is type(node.op):
            pending.extend((current.right, current.left))
        else:
            operands.append(current)

    return operands
