"""Load the JSON Schemas once and validate request bodies against them.

The schema files live in the ``schemas/`` folder of the source tree and ship inside the
package as ``mockgraph/schemas``. They are linked with relative ``$ref`` and resolved
through one :class:`referencing.Registry`; each validator is compiled once.

A body is first tested by the quick check of :mod:`mockgraph.quickcheck`, which needs
neither jsonschema nor the registry. With the shipped schemas, both are imported and
built only when a body fails the quick check (see :mod:`mockgraph.schema_compile`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ErrorDetail, unreadable_json
from .quickcheck import Check, NotFlattenable, compile_check, flatten
from .schema_compile import (
    LazyFormatChecker,
    check_references,
    check_schema,
    compile_validators,
    jsonschema_format_checker,
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

logger = logging.getLogger(__name__)

BASE_URI = "https://mockgraph.dev/schemas/"
RESOURCE_SCHEMA = "skillProficiency.json"
CREATE_SCHEMA = "createSkillRequest.json"
UPDATE_SCHEMA = "updateSkillRequest.json"

# Instance annotations a client may send and the mock does not store.
ANNOTATIONS = frozenset({"@odata.type", "@odata.context", "@odata.etag"})

# The format checker of the quick checks. It tests date-time with the rfc3339-validator
# package, as jsonschema does, and other formats with jsonschema's own checker.
QUICK_FORMAT_CHECKER = LazyFormatChecker()

_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}

# Most failures one error response lists; a body with more is still counted in full.
MAX_DETAILS = 100

# When several keywords fail on one value, the first of these is reported.
_KEYWORD_PRIORITY = {
    "type": 0,
    "required": 1,
    "enum": 2,
    "minLength": 3,
    "pattern": 4,
    "format": 5,
}


def default_schema_dir() -> Path:
    """Return the folder of the schemas shipped inside the installed package."""
    return Path(str(resources.files("mockgraph") / "schemas"))


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _pointer(path: Iterable[Any]) -> str:
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in path]
    return "/" + "/".join(parts) if parts else ""


def _label(pointer: str) -> str:
    label = pointer.lstrip("/") or "body"
    return label if len(label) <= 80 else label[:80] + "..."


def _quote_all(values: Iterable[Any]) -> str:
    return ", ".join(repr(value) for value in values if value is not None)


def show_value(value: Any, limit: int = 80) -> str:
    """Render a value for a message: strings quoted, others as JSON, long ones cut."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "..."
        return repr(text)

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def __getattr__(name: str) -> Any:
    # jsonschema's own format checker, imported only when a caller asks for it.
    if name == "FORMAT_CHECKER":
        return jsonschema_format_checker()

    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class SchemaSet:
    """The loaded schemas, their compiled validators and a hash of their text."""

    folder: Path
    schemas: dict[str, dict[str, Any]]
    version: str

    @classmethod
    def load(cls, folder: str | Path | None = None) -> SchemaSet:
        """Read every ``*.json`` file of ``folder`` (default: the shipped schemas).

        The files of a given folder are checked against the JSON Schema metaschema and
        compiled here, so that a broken file fails the load. The shipped schemas are
        checked by the test suite instead, and compiled on first use.
        """
        shipped = folder is None
        folder = Path(folder) if folder is not None else default_schema_dir()
        files = sorted(folder.glob("*.json"))
        if not files:
            raise FileNotFoundError(f"no JSON Schema files found in {str(folder)!r}")

        digest = hashlib.sha256()
        schemas: dict[str, dict[str, Any]] = {}
        for path in files:
            text = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + text + b"\0")
            try:
                schema = json.loads(text)
            except ValueError as err:
                raise ValueError(
                    f"schema file {str(path)!r} is not JSON: {err}"
                ) from err

            if not shipped:
                try:
                    check_schema(schema)
                except Exception as err:  # jsonschema's SchemaError
                    raise ValueError(
                        f"schema file {str(path)!r} is not a valid JSON Schema: "
                        f"{getattr(err, 'message', err)}"
                    ) from err

            schemas[path.name] = schema

        if shipped:
            schema_set = cls(folder, schemas, digest.hexdigest()[:16])
        else:
            schema_set = cls._load_given(folder, schemas, digest.hexdigest()[:16])

        logger.debug("loaded %d schemas from %s", len(schemas), folder)
        return schema_set

    @classmethod
    def _load_given(
        cls, folder: Path, schemas: dict[str, dict[str, Any]], digest: str
    ) -> SchemaSet:
        """Build the set of a given folder, or raise ValueError for what it lacks."""
        missing = [
            name
            for name in (RESOURCE_SCHEMA, CREATE_SCHEMA, UPDATE_SCHEMA)
            if name not in schemas
        ]
        if missing:
            raise ValueError(
                f"schema folder {str(folder)!r} has no {', '.join(missing)}; "
                "copy the shipped schemas and change them"
            )

        check_references(schemas, BASE_URI)
        try:
            schema_set = cls(folder, schemas, digest)
            schema_set.validators()
        except (KeyError, LookupError, TypeError, re.error) as err:
            raise ValueError(
                f"schema folder {str(folder)!r} cannot be compiled: "
                f"{type(err).__name__}: {err}"
            ) from err

        return schema_set

    def __post_init__(self) -> None:
        self._validators: dict[str, Draft202012Validator] | None = None
        self._compile_lock = threading.Lock()
        self._quick_checks = self._build_quick_checks()
        self.read_only = frozenset(self._read_only_properties(RESOURCE_SCHEMA))
        self.properties = self.declared_properties(RESOURCE_SCHEMA)
        self.shape = self._shape({"$ref": RESOURCE_SCHEMA})

    def _build_quick_checks(self) -> dict[str, Check]:
        quick: dict[str, Check] = {}
        for name in self.schemas:
            try:
                quick[name] = compile_check(
                    flatten(name, self.schemas, BASE_URI), QUICK_FORMAT_CHECKER
                )
            except NotFlattenable as err:
                logger.debug("schema %s is always checked as written: %s", name, err)

        return quick

    def _shape(self, schema: dict[str, Any]) -> Any:
        """Return the nesting of object properties in ``schema``, for :func:`complete`.

        An object becomes a dict of its property names (annotations left out) to their
        own shapes, an array of objects a one-element list, anything else None.
        """
        if "$ref" in schema:
            return self._shape(self.schemas[schema["$ref"]])

        if "items" in schema:
            items = self._shape(schema["items"])
            return [items] if items is not None else None

        names = [
            name for name in self._all_properties(schema) if name not in ANNOTATIONS
        ]
        if not names:
            return None

        return {name: self._shape(self._all_properties(schema)[name]) for name in names}

    def _all_properties(self, schema: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for base in schema.get("allOf", []):
            merged.update(self._all_properties(self.schemas[base["$ref"]]))

        merged.update(schema.get("properties", {}))
        return merged

    def declared_properties(self, name: str) -> list[str]:
        """List the property names a schema and its ``allOf`` bases declare."""
        schema = self.schemas[name]
        names: list[str] = []
        for base in schema.get("allOf", []):
            names.extend(self.declared_properties(base["$ref"]))

        names.extend(schema.get("properties", {}))
        return names

    def _read_only_properties(self, name: str) -> Iterable[str]:
        schema = self.schemas[name]
        for base in schema.get("allOf", []):
            yield from self._read_only_properties(base["$ref"])

        for prop, subschema in schema.get("properties", {}).items():
            if subschema.get("readOnly"):
                yield prop

    def validators(self) -> dict[str, Draft202012Validator]:
        """Return a jsonschema validator per schema file, compiled on the first call."""
        if self._validators is None:
            with self._compile_lock:
                if self._validators is None:
                    self._validators = compile_validators(self.schemas, BASE_URI)

        return self._validators

    def validator(self, name: str) -> Draft202012Validator:
        return self.validators()[name]

    def validate(self, name: str, instance: Any) -> list[ErrorDetail]:
        """Validate ``instance`` against schema ``name``; return every failure found.

        Failures come in the order of the body's keys; one value that breaks several
        keywords is reported once, by its most telling keyword.
        """
        quick = self._quick_checks.get(name)
        if quick is not None and quick(instance):
            return []

        details: dict[str, ErrorDetail] = {}
        ranks: dict[str, tuple[int, int]] = {}
        try:
            for error in self.validator(name).iter_errors(instance):
                for detail in self._describe(error):
                    rank = _rank(detail, error)
                    current = ranks.get(detail.target)
                    if current is None or rank < current:
                        details[detail.target] = detail
                        ranks[detail.target] = rank
        except RecursionError:
            # jsonschema recurses deeper per level than the JSON parser, and its
            # messages include repr() of the value, so a body that parsed can still
            # nest too deeply to describe.
            raise unreadable_json("the body nests JSON too deeply.") from None

        return order_details(list(details.values()), instance)

    def _describe(self, error: ValidationError) -> Iterable[ErrorDetail]:
        pointer = _pointer(error.absolute_path)
        keyword = str(error.validator)
        value = error.instance
        label = _label(pointer)

        if keyword in ("additionalProperties", "unevaluatedProperties"):
            yield from self._describe_unknown(error, pointer)
            return

        if keyword == "required":
            for missing in error.validator_value:
                if isinstance(value, dict) and missing not in value:
                    yield ErrorDetail(
                        "invalidRequest",
                        f"Missing required property {missing!r}; a skill needs a name.",
                        f"{pointer}/{missing}",
                        keyword,
                    )
            return

        if keyword == "type":
            expected = error.validator_value
            expected_text = (
                " or ".join(expected) if isinstance(expected, list) else expected
            )
            message = (
                f"Invalid value {show_value(value)} for {label!r}: expected {expected_text}, "
                f"got {_json_type(value)}."
            )
        elif keyword == "enum" and label.endswith("@odata.type"):
            message = (
                f"Invalid @odata.type {show_value(value)} at {label!r}: expected "
                f"{error.validator_value[0]!r}."
            )
        elif keyword == "enum":
            message = (
                f"Invalid value {show_value(value)} for {label!r}: expected one of "
                f"{_quote_all(error.validator_value)}."
            )
        elif keyword == "pattern" and "x-flagsEnum" in error.schema:
            members = error.schema["x-flagsEnum"]
            unknown = [part.strip() for part in str(value).split(",")]
            unknown = [show_value(part) for part in unknown if part not in members]
            if unknown:
                problem = f"{', '.join(unknown)} is not a member"
            else:
                problem = (
                    "members must be separated by ',' or ', ' with no other spaces"
                )

            message = (
                f"Invalid value {show_value(value)} for {label!r}: {problem}; expected "
                f"one or more of {_quote_all(members)}, separated by commas."
            )
        elif keyword == "format":
            message = (
                f"Invalid value {show_value(value)} for {label!r}: expected an RFC 3339 "
                f"{error.validator_value}, such as '2024-01-02T03:04:05Z'."
            )
        elif keyword == "minLength" and value == "":
            message = f"Invalid value '' for {label!r}: it must not be empty."
        elif keyword == "pattern" and label == "displayName":
            message = (
                f"Invalid value {show_value(value)} for {label!r}: it must contain "
                "a character other than white space."
            )
        else:
            message = (
                f"Invalid value {show_value(value)} for {label!r}: failed the "
                f"{keyword!r} check of the schema."
            )

        yield ErrorDetail("invalidRequest", message, pointer, keyword, value)

    def _describe_unknown(
        self, error: ValidationError, pointer: str
    ) -> Iterable[ErrorDetail]:
        schema = error.schema
        type_name = (
            schema.get("title", "object") if isinstance(schema, dict) else "object"
        )
        if schema.get("$id"):
            known = set(self.declared_properties(schema["$id"].removeprefix(BASE_URI)))
        else:
            known = set(schema.get("properties", {}))

        for key in error.instance:
            if key in known:
                continue

            yield ErrorDetail(
                "BadRequest",
                f"Property {show_value(key)} does not exist on type "
                f"'microsoft.graph.{type_name}'; remove it from the request.",
                f"{pointer}/{_pointer([key])[1:]}",
                str(error.validator),
                key,
            )


def _rank(detail: ErrorDetail, error: ValidationError) -> tuple[int, int]:
    """Rank the failures of one value: a telling keyword first, then the narrower type.

    A create body's ``displayName`` must be a string, while the resource also allows
    null; the narrower "expected string" is the one worth reporting.
    """
    priority = _KEYWORD_PRIORITY.get(detail.keyword, len(_KEYWORD_PRIORITY))
    allowed = error.validator_value if detail.keyword == "type" else ()
    return (priority, len(allowed) if isinstance(allowed, list) else 1)


def order_details(details: list[ErrorDetail], body: Any) -> list[ErrorDetail]:
    """Sort failures by the position of their top-level key in ``body``, then pointer."""
    positions = (
        {key: index for index, key in enumerate(body)} if isinstance(body, dict) else {}
    )

    def sort_key(detail: ErrorDetail) -> tuple[int, str]:
        top = detail.target.split("/")[1] if detail.target.count("/") else ""
        top = top.replace("~1", "/").replace("~0", "~")
        return (positions.get(top, len(positions)), detail.target)

    return sorted(details, key=sort_key)


def complete(value: Any, shape: Any) -> Any:
    """Return ``value`` with every property of its shape present and annotations gone.

    Missing properties become null, as in Graph's responses, and ``@odata.type`` and the
    other instance annotations are left out at every level.
    """
    if isinstance(shape, dict) and isinstance(value, dict):
        return {name: complete(value.get(name), sub) for name, sub in shape.items()}

    if isinstance(shape, list) and isinstance(value, list):
        return [complete(item, shape[0]) for item in value]

    return value


def validation_error_message(details: list[ErrorDetail]) -> str:
    """Summarise a list of failures by naming the first one."""
    first = details[0]
    more = len(details) - 1
    if more and len(details) > MAX_DETAILS:
        suffix = f" ({more} more; error.details lists the first {MAX_DETAILS})"
    elif more:
        suffix = f" ({more} more in error.details)"
    else:
        suffix = ""

    return f"{first.message}{suffix}"


__all__ = [
    "ANNOTATIONS",
    "MAX_DETAILS",
    "CREATE_SCHEMA",
    "RESOURCE_SCHEMA",
    "UPDATE_SCHEMA",
    "SchemaSet",
    "complete",
    "order_details",
    "show_value",
    "default_schema_dir",
    "validation_error_message",
]
