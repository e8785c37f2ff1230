"""Compile an OData ``$filter`` expression into a predicate over stored skills.

The odata-query library parses the text; this module walks its syntax tree and builds
Python closures. Supported:

- ``eq``, ``ne``, ``gt``, ``ge``, ``lt``, ``le`` and ``in`` between a property and a
  literal of the property's type;
- ``and``, ``or``, ``not`` and parentheses;
- ``startswith``, ``endswith`` and ``contains`` on string properties;
- ``any`` and ``all`` over ``categories`` and ``collaborationTags``, such as
  ``categories/any(c: c eq 'Cloud')``.

Everything else the grammar accepts (arithmetic, other functions, two properties in one
comparison) fails with 400 ``notSupported`` quoting the construct. Text that does not
parse fails with 400 ``BadRequest``. No part of a filter is skipped.

String comparisons ignore letter case, as Graph's directory queries do. No source
documents how the profile service compares. ``proficiency`` compares by the order of
its members (``elementary`` lowest), as OData orders enum values. Following OData,
``gt``, ``ge``, ``lt`` and ``le`` are false when either side is null.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException, ParsingException, TokenizingException
from odata_query.grammar import ODataLexer, ODataParser
from odata_query.roundtrip import AstToODataVisitor

from .errors import GraphError
from .fakedata import parse_timestamp
from .filter_tree import chain_operands, nesting_depth

logger = logging.getLogger(__name__)

Skill = dict[str, Any]
# A compiled condition: the skill, and the values of the lambda variables in scope.
Condition = Callable[[Skill, dict[str, Any]], bool]

STRING, ENUM, FLAGS, DATETIME, BOOLEAN, NUMBER, COLLECTION = (
    "string",
    "enum",
    "flags enum",
    "date-time",
    "boolean",
    "number",
    "collection of strings",
)
PROFICIENCY_LEVELS = (
    "elementary",
    "limitedWorking",
    "generalProfessional",
    "advancedProfessional",
    "expert",
    "unknownFutureValue",
)
AUDIENCES = (
    "me",
    "family",
    "contacts",
    "groupMembers",
    "organization",
    "federatedOrganizations",
    "everyone",
    "unknownFutureValue",
)
_IDENTITY_PATHS = {
    f"{owner}/{actor}/{leaf}": STRING
    for owner in ("createdBy", "lastModifiedBy")
    for actor in ("application", "device", "user")
    for leaf in ("displayName", "id")
}
# The properties a filter or $orderby may name, as paths, with their types.
PROPERTY_TYPES: dict[str, str] = {
    "id": STRING,
    "displayName": STRING,
    "webUrl": STRING,
    "thumbnailUrl": STRING,
    "proficiency": ENUM,
    "allowedAudiences": FLAGS,
    "createdDateTime": DATETIME,
    "lastModifiedDateTime": DATETIME,
    "isSearchable": BOOLEAN,
    "inference/confidenceScore": NUMBER,
    "inference/userHasVerifiedAccuracy": BOOLEAN,
    "categories": COLLECTION,
    "collaborationTags": COLLECTION,
    **_IDENTITY_PATHS,
}
STRING_FUNCTIONS = {
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": str.__contains__,
}
# Maximum length of filter text quoted whole in an error message; longer text is cut.
MAX_QUOTED = 200
# Deeper expressions are rejected, so compiling, evaluating or quoting one never
# exhausts the Python stack. A chain of one operator, a or b or c, is one level.
MAX_DEPTH = 100

_ORDERINGS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_MIRRORED = {ast.Lt: ast.Gt(), ast.LtE: ast.GtE(), ast.Gt: ast.Lt(), ast.GtE: ast.LtE()}
_OPERATOR_WORDS = {
    ast.Eq: "eq",
    ast.NotEq: "ne",
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
}


class _Lexer(ODataLexer):  # type: ignore[misc]
    """odata-query 0.10's lexer, with keywords that no longer match inside names.

    The library's lexer reads ``any``, ``all``, ``null``, ``true`` and ``false``
    wherever the letters start a word, so ``allowedAudiences`` became ``all`` followed
    by ``owedAudiences``. Here ``any`` and ``all`` must be followed by ``(``, and the
    literals must end where the word ends.
    """

    tokens = ODataLexer.tokens

    @_(r"any(?=\()")  # type: ignore[name-defined]  # noqa: F821
    def ANY(self, token: Any) -> Any:
        token.value = ast.Any()
        return token

    @_(r"all(?=\()")  # type: ignore[name-defined]  # noqa: F821
    def ALL(self, token: Any) -> Any:
        token.value = ast.All()
        return token

    @_(r"(?:true|false)(?![\w.])")  # type: ignore[name-defined]  # noqa: F821
    def BOOLEAN(self, token: Any) -> Any:
        token.value = ast.Boolean(token.value)
        return token

    @_(r"null(?![\w.])")  # type: ignore[name-defined]  # noqa: F821
    def NULL(self, token: Any) -> Any:
        token.value = ast.Null()
        return token


def read_path(skill: Skill, path: str) -> Any:
    """Return the value at a ``/``-separated property path, or None if it ends early."""
    value: Any = skill
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None

        value = value.get(part)

    return value


def comparable(kind: str, value: Any) -> Any:
    """Convert a stored value into one that compares as its OData type does."""
    if value is None:
        return None

    if kind == STRING:
        return str(value).casefold()

    if kind == ENUM:
        return PROFICIENCY_LEVELS.index(value) if value in PROFICIENCY_LEVELS else None

    if kind == FLAGS:
        return frozenset(part.strip() for part in str(value).split(","))

    if kind == DATETIME:
        try:
            return parse_timestamp(str(value))
        except ValueError:
            return None

    if kind == NUMBER:
        return float(value)

    return value


def parse_filter(text: str) -> ast._Node:
    """Parse ``$filter`` text into odata-query's syntax tree; raise 400 if invalid.

    Leading and trailing whitespace is ignored.
    """
    text = text.strip()
    if not text:
        raise _invalid(
            text,
            "the expression is empty; "
            "write a condition such as proficiency eq 'expert'",
        )

    try:
        # A new parser per call: sly keeps its parse state on the instance.
        tree = ODataParser().parse(_Lexer().tokenize(text))
    except TokenizingException as err:
        offset = err.token.index
        raise _invalid(
            text, f"cannot read {text[offset : offset + 20]!r} at offset {offset}"
        ) from None
    except ParsingException as err:
        if err.eof or err.token is None:
            raise _invalid(text, "the expression ends too early") from None

        offset = err.token.index
        rest = text[offset:].strip()[:30] or text[offset : offset + 1]
        raise _invalid(
            text,
            f"syntax error at offset {offset}, at {rest!r}; write conditions such as "
            "proficiency eq 'expert' and startswith(displayName,'Py')",
        ) from None
    except ODataException as err:
        raise _invalid(text, str(err).rstrip(".")) from None
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as err:
        # odata-query 0.10 fails this way on some inputs, such as a lambda on a path
        # of three segments (a/b/c/any()).
        logger.warning("odata-query failed on $filter %r: %r", text, err)
        raise _invalid(text, "the expression cannot be parsed") from None

    node: ast._Node = tree
    if nesting_depth(node) > MAX_DEPTH:
        raise _invalid(text, f"the expression nests more than {MAX_DEPTH} levels deep")

    return node


def compile_filter(text: str) -> Callable[[Skill], bool]:
    """Compile ``$filter`` ``text`` into a predicate, true for the matching skills."""
    text = text.strip()
    condition = _Compiler(text).condition(parse_filter(text), frozenset(), 0)
    return lambda skill: condition(skill, {})


def _invalid(text: str, reason: str) -> GraphError:
    quoted = text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + "..."
    return GraphError(
        400,
        "BadRequest",
        f"Invalid $filter {quoted!r}: {reason}.",
        target="$filter",
    )


def render(node: ast._Node) -> str:
    """Write a syntax tree back as OData text, for error messages."""
    try:
        text = AstToODataVisitor().visit(node)
    except (KeyError, AttributeError, TypeError):  # a node kind the visitor lacks
        text = None

    return text if isinstance(text, str) else repr(node)


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text

    def unsupported(self, node: ast._Node, reason: str) -> GraphError:
        return GraphError(
            400,
            "notSupported",
            f"$filter construct {render(node)!r} is not supported: {reason}.",
            target="$filter",
        )

    def invalid(self, node: ast._Node, reason: str) -> GraphError:
        construct = render(node)
        if construct == self.text.strip():
            return _invalid(self.text, f"it {reason}")

        return _invalid(self.text, f"{construct!r} {reason}")

    def condition(
        self, node: ast._Node, variables: frozenset[str], depth: int
    ) -> Condition:
        if depth > MAX_DEPTH:
            raise _invalid(
                self.text, f"the expression nests more than {MAX_DEPTH} levels deep"
            )

        depth += 1
        if isinstance(node, ast.BoolOp):
            parts = [
                self.condition(operand, variables, depth)
                for operand in chain_operands(node)
            ]
            if isinstance(node.op, ast.And):
                return lambda skill, env: all(part(skill, env) for part in parts)

            return lambda skill, env: any(part(skill, env) for part in parts)

        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.condition(node.operand, variables, depth)
            return lambda skill, env: not inner(skill, env)

        if isinstance(node, ast.Compare):
            return self.compare(node, variables)

        if isinstance(node, ast.Call):
            return self.function(node, variables)

        if isinstance(node, ast.CollectionLambda):
            return self.collection(node, variables, depth)

        if isinstance(node, ast.Boolean):
            constant = node.py_val
            return lambda skill, env: constant

        if isinstance(node, (ast.Identifier, ast.Attribute)):
            read, kind = self.operand(node, variables)
            if kind != BOOLEAN:
                raise self.invalid(
                    node, f"is a {kind}, not a condition; compare it with a value"
                )

            return lambda skill, env: read(skill, env) is True

        raise self.unsupported(node, "it is not a condition mockgraph can evaluate")

    def operand(
        self, node: ast._Node, variables: frozenset[str]
    ) -> tuple[Callable[[Skill, dict[str, Any]], Any], str]:
        """Return a reader of the property or lambda variable ``node``, and its type."""
        if (
            isinstance(node, ast.Identifier)
            and not node.namespace
            and node.name in variables
        ):
            name = node.name
            return (lambda skill, env: env[name]), STRING

        if isinstance(node, ast.Call):
            raise self.unsupported(
                node,
                f"function {node.func.full_name()!r} cannot be compared; use "
                f"{', '.join(STRING_FUNCTIONS)} as a condition of their own",
            )

        if isinstance(node, ast.BinOp):
            raise self.unsupported(node, "arithmetic operators are not available")

        path = self.path(node)
        if path is None:
            raise self.unsupported(node, "compare a property with a literal value")

        kind = PROPERTY_TYPES.get(path)
        if kind is None:
            known = ", ".join(name for name in PROPERTY_TYPES if "/" not in name)
            raise self.invalid(
                node,
                f"names no filterable property of 'microsoft.graph.skillProficiency'; "
                f"use one of {known}, or a path such as createdBy/user/displayName",
            )

        return (lambda skill, env: read_path(skill, path)), kind

    def path(self, node: ast._Node) -> str | None:
        if isinstance(node, ast.Identifier) and not node.namespace:
            return node.name

        if isinstance(node, ast.Attribute):
            owner = self.path(node.owner)
            return f"{owner}/{node.attr}" if owner is not None else None

        return None

    def compare(self, node: ast.Compare, variables: frozenset[str]) -> Condition:
        left, right, comparator = node.left, node.right, node.comparator
        if isinstance(comparator, ast.In):
            return self.membership(node, variables)

        if isinstance(left, ast._Literal) and not isinstance(right, ast._Literal):
            left, right = right, left
            comparator = _MIRRORED.get(type(comparator), comparator)

        if not isinstance(right, ast._Literal) or isinstance(right, ast.List):
            raise self.unsupported(
                node,
                "each comparison needs a property on one side and a literal on "
                "the other",
            )

        read, kind = self.operand(left, variables)
        if kind == COLLECTION:
            raise self.invalid(
                node,
                f"compares a {kind}; use a lambda such as "
                f"{render(left)}/any(x: x eq 'value')",
            )

        literal = self.literal(node, right, kind)
        word = _OPERATOR_WORDS[type(comparator)]

        if isinstance(comparator, (ast.Eq, ast.NotEq)):
            equal = isinstance(comparator, ast.Eq)
            return lambda skill, env: (
                (comparable(kind, read(skill, env)) == literal) is equal
            )

        if kind in (FLAGS, BOOLEAN):
            raise self.unsupported(
                node, f"'{word}' does not apply to a {kind}; use eq or ne"
            )

        ordering = _ORDERINGS[type(comparator)]

        def ordered(skill: Skill, env: dict[str, Any]) -> bool:
            value = comparable(kind, read(skill, env))
            return (
                value is not None and literal is not None and ordering(value, literal)
            )

        return ordered

    def membership(self, node: ast.Compare, variables: frozenset[str]) -> Condition:
        if not isinstance(node.right, ast.List):
            raise self.unsupported(
                node, "'in' needs a list of literals, such as ('a', 'b')"
            )

        read, kind = self.operand(node.left, variables)
        if kind in (COLLECTION, FLAGS):
            raise self.unsupported(node, f"'in' does not apply to a {kind}")

        members = {self.literal(node, item, kind) for item in node.right.val}
        return lambda skill, env: comparable(kind, read(skill, env)) in members

    def literal(self, node: ast._Node, literal: ast._Node, kind: str) -> Any:
        """Convert a literal to the comparable form of ``kind``; 400 on a wrong type."""
        if isinstance(literal, ast.Null):
            return None

        if kind == STRING and isinstance(literal, (ast.String, ast.GUID)):
            return literal.val.casefold()

        if kind == ENUM and isinstance(literal, ast.String):
            if literal.val not in PROFICIENCY_LEVELS:
                raise self.invalid(
                    node,
                    f"uses {literal.val!r}, which is not a proficiency; expected "
                    f"one of {', '.join(PROFICIENCY_LEVELS)}",
                )

            return PROFICIENCY_LEVELS.index(literal.val)

        if kind == FLAGS and isinstance(literal, ast.String):
            members = frozenset(part.strip() for part in literal.val.split(","))
            unknown = sorted(members - set(AUDIENCES))
            if unknown:
                raise self.invalid(
                    node,
                    f"uses {', '.join(map(repr, unknown))}, not a member of "
                    f"allowedAudiences; expected {', '.join(AUDIENCES)}",
                )

            return members

        if kind == DATETIME and isinstance(literal, ast.DateTime):
            return self.timestamp(node, literal.val)

        if kind == BOOLEAN and isinstance(literal, ast.Boolean):
            return literal.py_val

        if kind == NUMBER and isinstance(literal, (ast.Integer, ast.Float)):
            return float(literal.val)

        hint = {
            STRING: "a string in single quotes, such as 'Python'",
            ENUM: "a member name in single quotes, such as 'expert'",
            FLAGS: "members in single quotes, such as 'organization'",
            DATETIME: "a date-time without quotes, such as 2024-01-02T03:04:05Z",
            BOOLEAN: "true or false",
            NUMBER: "a number, such as 0.5",
        }.get(kind, "a literal of the property's type")
        raise self.invalid(
            node, f"compares a {kind} with {render(literal)}; write {hint}"
        )

    def timestamp(self, node: ast._Node, text: str) -> Any:
        if not text.endswith(("Z", "z")) and text[-6] not in "+-":
            raise self.invalid(
                node,
                "has a date-time without an offset; add Z or an offset such as +01:00",
            )

        try:
            return parse_timestamp(text)
        except ValueError as err:
            raise self.invalid(
                node, f"has an invalid date-time {text!r} ({err})"
            ) from None

    def function(self, node: ast.Call, variables: frozenset[str]) -> Condition:
        name = node.func.full_name()
        test = STRING_FUNCTIONS.get(name)
        if test is None:
            raise self.unsupported(
                node,
                f"function {name!r} is not available; "
                f"use {', '.join(STRING_FUNCTIONS)}",
            )

        subject, needle = node.args
        if not isinstance(needle, ast.String):
            raise self.unsupported(
                node, f"the second argument of {name} must be a string literal"
            )

        read, kind = self.operand(subject, variables)
        if kind != STRING:
            raise self.invalid(
                node, f"applies {name} to a {kind}; it needs a string property"
            )

        text = needle.val.casefold()

        def matches(skill: Skill, env: dict[str, Any]) -> bool:
            value = read(skill, env)
            return isinstance(value, str) and test(value.casefold(), text)

        return matches

    def collection(
        self, node: ast.CollectionLambda, variables: frozenset[str], depth: int
    ) -> Condition:
        read, kind = self.operand(node.owner, variables)
        if kind != COLLECTION:
            raise self.invalid(
                node,
                f"uses a lambda on a {kind}; any and all apply to categories "
                "and collaborationTags",
            )

        if node.lambda_ is None:
            if isinstance(node.operator, ast.All):
                raise self.invalid(node, "has no condition; write all(x: condition)")

            return lambda skill, env: bool(read(skill, env))

        name = node.lambda_.identifier.name
        inner = self.condition(node.lambda_.expression, variables | {name}, depth)
        every = isinstance(node.operator, ast.All)

        def quantified(skill: Skill, env: dict[str, Any]) -> bool:
            items = read(skill, env) or []
            results = (inner(skill, {**env, name: item}) for item in items)
            return all(results) if every else any(results)

        return quantified
