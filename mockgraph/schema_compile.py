"""Compile the schemas with python-jsonschema, importing it only when it is needed.

Importing jsonschema and building its validators slows a server's start, and a valid
body never needs them, because the quick check of :mod:`mockgraph.quickcheck` decides
it. This module contains every use of jsonschema that :mod:`mockgraph.validation`
makes, and each imports jsonschema when first called.

The shipped schemas use one format, ``date-time``. python-jsonschema 4 checks it with
``rfc3339_validator.validate_rfc3339`` on the upper-cased string and lets any value that
is not a string pass. :class:`LazyFormatChecker` does the same without jsonschema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rfc3339_validator import validate_rfc3339  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry


def is_date_time(instance: object) -> bool:
    """Return whether ``instance`` passes the ``date-time`` format, as in jsonschema."""
    if not isinstance(instance, str):
        return True

    return bool(validate_rfc3339(instance.upper()))


class LazyFormatChecker:
    """Check ``date-time`` here, and any other format with jsonschema's checker.

    It has the ``conforms`` method of :class:`jsonschema.FormatChecker`, which is all
    that :func:`mockgraph.quickcheck.compile_check` calls.
    """

    def conforms(self, instance: object, format: str) -> bool:
        if format == "date-time":
            return is_date_time(instance)

        return jsonschema_format_checker().conforms(instance, format)


def jsonschema_format_checker() -> FormatChecker:
    """Return the format checker of python-jsonschema's draft 2020-12 validator."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator.FORMAT_CHECKER


def check_schema(schema: Any) -> None:
    """Check ``schema`` against the draft 2020-12 metaschema.

    :raises jsonschema.exceptions.SchemaError: if ``schema`` is not a valid schema.
    """
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)


def compile_validators(
    schemas: dict[str, dict[str, Any]], base_uri: str
) -> dict[str, Draft202012Validator]:
    """Build one validator per schema file, all resolving ``$ref`` through one registry.

    :param schemas: every schema by file name, registered as ``base_uri + name``.
    """
    from jsonschema import Draft202012Validator

    registry = _registry(schemas, base_uri)
    # python-jsonschema skips "format" unless a checker is given; date-time also needs
    # the rfc3339-validator package, which is a dependency of mockgraph for that reason.
    return {
        name: Draft202012Validator(
            {"$ref": base_uri + name},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for name in schemas
    }


def check_references(schemas: dict[str, dict[str, Any]], base_uri: str) -> None:
    """Raise ValueError naming the first ``$ref`` of ``schemas`` that does not resolve.

    python-jsonschema resolves a reference only when an instance reaches it, so a
    dangling one would otherwise surface as an error on some later request.
    """
    from referencing.exceptions import Unresolvable

    registry = _registry(schemas, base_uri)
    for name, schema in schemas.items():
        resolver = registry.resolver(base_uri + name)
        for pointer, reference in _references(schema, ""):
            try:
                resolver.lookup(reference)
            except Unresolvable as err:
                raise ValueError(
                    f"schema file {name!r}: $ref {reference!r} at {pointer or '/'} "
                    f"does not resolve ({type(err).__name__}); fix the reference or "
                    "add the schema it names"
                ) from None


def _registry(schemas: dict[str, dict[str, Any]], base_uri: str) -> Registry:
    """Return a registry of ``schemas``, each under ``base_uri + name``."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry: Registry = Registry().with_resources(
        (
            base_uri + name,
            Resource.from_contents(schema, default_specification=DRAFT202012),
        )
        for name, schema in schemas.items()
    )
    return registry.crawl()


def _references(value: Any, pointer: str) -> list[tuple[str, str]]:
    """Return (JSON pointer, reference) for every ``$ref`` string inside ``value``."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                found.append((pointer + "/$ref", item))
            else:
                found.extend(_references(item, f"{pointer}/{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_references(item, f"{pointer}/{index}"))

    return found
