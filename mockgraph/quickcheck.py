"""A faster yes-or-no validity check, built once from the loaded schemas.

Most requests are valid, and for those only the verdict matters. The schemas as written
are slow to evaluate for two reasons: every ``$ref`` is looked up in the registry on each
call, and ``unevaluatedProperties`` makes python-jsonschema evaluate the ``allOf`` bases
a second time to learn which properties they declared. :func:`flatten` rewrites a schema
into one that accepts exactly the same instances without either cost:

- each ``$ref`` is replaced by the schema it names, wrapped in ``allOf``, which is what
  a ``$ref`` beside other keywords means in draft 2020-12;
- ``"unevaluatedProperties": false`` becomes ``"propertyNames": {"enum": [...]}``,
  listing every name that ``properties`` declares on that object and in its ``allOf``
  bases. That is only the same rule while nothing else on that object evaluates
  properties (``patternProperties``, ``additionalProperties``, conditionals, ``anyOf``
  and the like), so a schema that uses any of them raises :class:`NotFlattenable`.

Even flattened, python-jsonschema spends most of its time building a validator object
per keyword. :func:`compile_check` turns a flattened schema into nested closures that
test the keywords the shipped schemas use, with the same semantics as jsonschema for
each, and raises :class:`NotFlattenable` on any other keyword.

The quick check only ever decides "valid". When it returns False, the caller runs the
original schema to produce the error details, so messages and targets stay as they were.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Protocol

Check = Callable[[Any], bool]


class FormatChecker(Protocol):
    """The part of :class:`jsonschema.FormatChecker` that the quick check calls."""

    def conforms(self, instance: object, format: str) -> bool: ...


# Keywords whose value is one subschema, a list of them, or a map of names to them.
_SUBSCHEMA = ("items", "not", "additionalProperties", "propertyNames", "contains")
_SUBSCHEMA_MORE = ("if", "then", "else", "unevaluatedItems", "unevaluatedProperties")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
# Keywords that mark properties as evaluated, other than "properties" itself.
_EVALUATES_PROPERTIES = frozenset(
    {
        "additionalProperties",
        "anyOf",
        "dependentSchemas",
        "dependencies",
        "else",
        "if",
        "not",
        "oneOf",
        "patternProperties",
        "then",
        "unevaluatedProperties",
    }
)
# Identifiers that only matter while references are resolved; inlining drops them.
_IDENTIFIERS = ("$id", "$schema", "$anchor", "$comment")


class NotFlattenable(ValueError):
    """The schema uses a construct that :func:`flatten` cannot rewrite faithfully."""


def flatten(name: str, schemas: Mapping[str, Any], base_uri: str) -> Any:
    """Return schema ``name`` with references inlined and ``unevaluatedProperties`` gone.

    :param schemas: every schema by file name; a ``$ref`` names a file, either bare or
        under ``base_uri``.
    :raises NotFlattenable: for fragment or dynamic references, reference cycles, and
        ``unevaluatedProperties`` that cannot be rewritten.
    """
    inlined = _inline(schemas[name], schemas, base_uri, (name,))
    return _rewrite_unevaluated(inlined)


def _inline(
    schema: Any, schemas: Mapping[str, Any], base_uri: str, trail: tuple[str, ...]
) -> Any:
    if isinstance(schema, bool):
        return schema

    if not isinstance(schema, dict):
        raise NotFlattenable(f"expected a schema object or boolean, got {schema!r}")

    for keyword in ("$dynamicRef", "$recursiveRef", "$defs", "definitions"):
        if keyword in schema:
            raise NotFlattenable(f"keyword {keyword!r} is not supported")

    result: dict[str, Any] = {}
    for keyword, value in schema.items():
        if keyword in _IDENTIFIERS or keyword == "$ref":
            continue

        result[keyword] = _inline_keyword(keyword, value, schemas, base_uri, trail)

    reference = schema.get("$ref")
    if reference is not None:
        target = str(reference).removeprefix(base_uri)
        if target not in schemas:
            raise NotFlattenable(f"reference {reference!r} does not name a schema file")

        if target in trail:
            raise NotFlattenable(f"reference {reference!r} is part of a cycle")

        resolved = _inline(schemas[target], schemas, base_uri, (*trail, target))
        result["allOf"] = [resolved, *result.get("allOf", [])]

    return result


def _inline_keyword(
    keyword: str,
    value: Any,
    schemas: Mapping[str, Any],
    base_uri: str,
    trail: tuple[str, ...],
) -> Any:
    if keyword in _SUBSCHEMA or keyword in _SUBSCHEMA_MORE:
        return _inline(value, schemas, base_uri, trail)

    if keyword in _SUBSCHEMA_LISTS:
        return [_inline(item, schemas, base_uri, trail) for item in value]

    if keyword in _SUBSCHEMA_MAPS:
        return {
            key: _inline(item, schemas, base_uri, trail) for key, item in value.items()
        }

    return value


def _rewrite_unevaluated(schema: Any) -> Any:
    """Replace ``"unevaluatedProperties": false`` bottom-up, in a schema with no refs."""
    if not isinstance(schema, dict):
        return schema

    result = {
        keyword: _rewrite_keyword(keyword, value)
        for keyword, value in schema.items()
        if keyword != "unevaluatedProperties"
    }
    if "unevaluatedProperties" not in schema:
        return result

    if schema["unevaluatedProperties"] is not False:
        raise NotFlattenable("only 'unevaluatedProperties: false' can be rewritten")

    names = _declared_names(schema, top=True)
    result["allOf"] = [
        *result.get("allOf", []),
        {"propertyNames": {"enum": sorted(names)}},
    ]
    return result


def _rewrite_keyword(keyword: str, value: Any) -> Any:
    if keyword in _SUBSCHEMA or keyword in _SUBSCHEMA_MORE:
        return _rewrite_unevaluated(value)

    if keyword in _SUBSCHEMA_LISTS:
        return [_rewrite_unevaluated(item) for item in value]

    if keyword in _SUBSCHEMA_MAPS:
        return {key: _rewrite_unevaluated(item) for key, item in value.items()}

    return value


def _declared_names(schema: Any, top: bool) -> set[str]:
    """Collect the names ``properties`` declares on one object and its ``allOf`` bases."""
    if isinstance(schema, bool):  # a boolean schema evaluates no property
        return set()

    used = set(schema) & _EVALUATES_PROPERTIES
    if top:
        used.discard("unevaluatedProperties")

    if used:
        raise NotFlattenable(
            f"unevaluatedProperties beside {sorted(used)!r} cannot be rewritten"
        )

    names = set(schema.get("properties", {}))
    for base in schema.get("allOf", []):
        names |= _declared_names(base, top=False)

    return names


# Keywords that only annotate and never change the verdict.
_ANNOTATION_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "readOnly",
        "writeOnly",
        "default",
        "examples",
        "deprecated",
    }
)


def compile_check(schema: Any, format_checker: FormatChecker) -> Check:
    """Compile ``schema`` into a function that returns whether an instance is valid.

    ``schema`` must be flattened (no ``$ref``). Supported keywords: ``type``, ``enum``
    of scalars, ``required``, ``properties``, ``additionalProperties``,
    ``propertyNames``, ``items``, ``allOf``, ``pattern``, ``minLength`` and ``format``;
    annotations and ``x-`` extensions are ignored.

    :raises NotFlattenable: on any other keyword.
    """
    if schema is True:
        return _accept

    if schema is False:
        return _reject

    checks: list[Check] = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATION_KEYWORDS or keyword.startswith("x-"):
            continue

        compiler = _COMPILERS.get(keyword)
        if compiler is None:
            raise NotFlattenable(f"keyword {keyword!r} has no quick check")

        checks.append(compiler(value, schema, format_checker))

    return _every(checks)


def _every(checks: list[Check]) -> Check:
    """Combine ``checks`` into one that passes when all of them pass.

    The common sizes get a plain expression rather than ``all()`` over a generator,
    because every request body goes through these checks.
    """
    if len(checks) == 1:
        return checks[0]

    if len(checks) == 2:
        first, second = checks
        return lambda instance: first(instance) and second(instance)

    def check(instance: Any) -> bool:
        for part in checks:
            if not part(instance):
                return False

        return True

    return check


def _any(checks: list[Check]) -> Check:
    """Combine ``checks`` into one that passes when at least one of them passes."""
    if len(checks) == 1:
        return checks[0]

    if len(checks) == 2:
        first, second = checks
        return lambda instance: first(instance) or second(instance)

    return lambda instance: any(check(instance) for check in checks)


def _accept(instance: Any) -> bool:
    return True


def _reject(instance: Any) -> bool:
    return False


def _is_number(instance: Any) -> bool:
    return isinstance(instance, (int, float)) and not isinstance(instance, bool)


def _is_integer(instance: Any) -> bool:
    # As in jsonschema: 1.0 is an integer, True is not.
    if isinstance(instance, float):
        return instance.is_integer()

    return isinstance(instance, int) and not isinstance(instance, bool)


_TYPE_TESTS: dict[str, Check] = {
    "object": lambda instance: isinstance(instance, dict),
    "array": lambda instance: isinstance(instance, list),
    "string": lambda instance: isinstance(instance, str),
    "boolean": lambda instance: isinstance(instance, bool),
    "null": lambda instance: instance is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _compile_type(value: Any, schema: Any, format_checker: FormatChecker) -> Check:
    names = value if isinstance(value, list) else [value]
    unknown = [name for name in names if name not in _TYPE_TESTS]
    if unknown:
        raise NotFlattenable(f"type {unknown[0]!r} has no quick check")

    return _any([_TYPE_TESTS[name] for name in names])


def _compile_enum(value: Any, schema: Any, format_checker: FormatChecker) -> Check:
    # Only strings and null, because jsonschema treats True and 1 as different values
    # and Python's "in" does not.
    if not all(member is None or isinstance(member, str) for member in value):
        raise NotFlattenable(
            "enum members other than strings and null have no quick check"
        )

    strings = frozenset(member for member in value if member is not None)
    allows_null = None in value

    def check(instance: Any) -> bool:
        if instance is None:
            return allows_null

        return isinstance(instance, str) and instance in strings

    return check


def _compile_required(value: Any, schema: Any, format_checker: FormatChecker) -> Check:
    names = list(value)
    return lambda instance: (
        not isinstance(instance, dict) or all(name in instance for name in names)
    )


def _compile_properties(
    value: Any, schema: Any, format_checker: FormatChecker
) -> Check:
    checks = {name: compile_check(sub, format_checker) for name, sub in value.items()}

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True

        for name, item in instance.items():
            item_check = checks.get(name)
            if item_check is not None and not item_check(item):
                return False

        return True

    return check


def _compile_additional(
    value: Any, schema: Any, format_checker: FormatChecker
) -> Check:
    if "patternProperties" in schema:
        raise NotFlattenable(
            "additionalProperties beside patternProperties has no quick check"
        )

    declared = frozenset(schema.get("properties", {}))
    extra_check = compile_check(value, format_checker)
    return lambda instance: (
        not isinstance(instance, dict)
        or all(
            extra_check(item) for name, item in instance.items() if name not in declared
        )
    )


def _compile_property_names(
    value: Any, schema: Any, format_checker: FormatChecker
) -> Check:
    name_check = compile_check(value, format_checker)
    return lambda instance: (
        not isinstance(instance, dict) or all(name_check(name) for name in instance)
    )


def _compile_items(value: Any, schema: Any, format_checker: FormatChecker) -> Check:
    if "prefixItems" in schema:
        raise NotFlattenable("items beside prefixItems has no quick check")

    item_check = compile_check(value, format_checker)
    return lambda instance: (
        not isinstance(instance, list) or all(item_check(item) for item in instance)
    )


def _compile_all_of(value: Any, schema: Any, format_checker: FormatChecker) -> Check:
    return _every([compile_check(sub, format_checker) for sub in value])


def _compile_pattern(value: Any, schema: Any, format_checker: FormatChecker) -> Check:
    pattern = re.compile(value)
    return lambda instance: (
        not isinstance(instance, str) or pattern.search(instance) is not None
    )


def _compile_min_length(
    value: Any, schema: Any, format_checker: FormatChecker
) -> Check:
    limit = int(value)
    return lambda instance: not isinstance(instance, str) or len(instance) >= limit


def _compile_format(value: Any, schema: Any, format_checker: FormatChecker) -> Check:
    # The same checker jsonschema uses; an unknown format passes there as here.
    return lambda instance: format_checker.conforms(instance, value)


_COMPILERS: dict[str, Callable[[Any, Any, FormatChecker], Check]] = {
    "type": _compile_type,
    "enum": _compile_enum,
    "required": _compile_required,
    "properties": _compile_properties,
    "additionalProperties": _compile_additional,
    "propertyNames": _compile_property_names,
    "items": _compile_items,
    "allOf": _compile_all_of,
    "pattern": _compile_pattern,
    "minLength": _compile_min_length,
    "format": _compile_format,
}
