"""Read the OData system query options of a skills request.

Option names ignore letter case and may be written without ``$``, as Graph's beta
endpoint allows (``top=5`` is ``$top=5``). Other query parameters are custom options,
which Graph ignores, and so does mockgraph; an unknown name that starts with ``$`` is
rejected. Each option may appear once.

``$top`` sets the page size, as in Graph. A response contains at most ``$top`` skills,
or the server's page size if that is smaller, and ``@odata.nextLink`` leads to the next
page while skills remain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from werkzeug.datastructures import MultiDict

from .errors import GraphError
from .filtering import COLLECTION, FLAGS, PROPERTY_TYPES, compile_filter

Skill = dict[str, Any]

KNOWN_OPTIONS = (
    "count",
    "expand",
    "filter",
    "orderby",
    "search",
    "select",
    "skip",
    "top",
)
COLLECTION_OPTIONS = frozenset(KNOWN_OPTIONS)
COUNT_OPTIONS = frozenset({"filter", "search"})
ITEM_OPTIONS = frozenset({"select", "expand"})
# The largest $top or $skip: Edm.Int64, the type OData gives both.
MAX_INTEGER = 2**63 - 1
# Paths $orderby accepts: every filterable property that has a single value.
SORTABLE = tuple(
    path for path, kind in PROPERTY_TYPES.items() if kind not in (COLLECTION, FLAGS)
)
_ORDER_ITEM = re.compile(r"\s*(\S+)(?:\s+(\S+))?\s*")
# Characters left as they are in a next link's option values; spaces become %20 and
# quotes %27, as the Graph SDK writes them.
_LINK_SAFE = ",/:()"


@dataclass(frozen=True)
class QueryOptions:
    """The system query options of one request, checked and converted."""

    top: int | None = None
    skip: int = 0
    select: tuple[str, ...] | None = None
    orderby: tuple[tuple[str, bool], ...] = ()
    filter: str | None = None
    matches: Callable[[Skill], bool] | None = None
    count: bool = False

    def link_query(self, skip: int) -> str:
        """Return the query string of the page that starts at ``skip``."""
        parts: list[tuple[str, str]] = []
        if self.count:
            parts.append(("$count", "true"))

        if self.filter is not None:
            parts.append(("$filter", self.filter))

        if self.orderby:
            order = [
                f"{path} {'desc' if down else 'asc'}" for path, down in self.orderby
            ]
            parts.append(("$orderby", ",".join(order)))

        if self.select is not None:
            parts.append(("$select", ",".join(self.select)))

        parts.append(("$skip", str(skip)))
        if self.top is not None:
            parts.append(("$top", str(self.top)))

        return "&".join(
            f"{name}={quote(value, safe=_LINK_SAFE)}" for name, value in parts
        )


def read_query(
    args: MultiDict[str, str],
    allowed: frozenset[str],
    properties: Iterable[str],
    target: str,
) -> QueryOptions:
    """Check the system query options in ``args`` and convert them.

    :param allowed: the option names, without ``$``, that ``target`` accepts.
    :param properties: the property names ``$select`` may list.
    :param target: what the request addresses, for messages, such as "a single skill".
    """
    options = _collect(args)
    for name in options:
        if name not in allowed:
            raise _bad_option(
                name,
                f"Query option '${name}' does not apply to {target}; remove it. "
                f"{target[0].upper()}{target[1:]} accepts "
                f"{', '.join('$' + item for item in sorted(allowed))}.",
            )

    if "expand" in options:
        raise GraphError(
            400,
            "notSupported",
            f"Query option $expand={options['expand']!r} is not supported: a skill has "
            "no navigation properties to expand; remove $expand.",
            target="$expand",
        )

    if "search" in options:
        raise GraphError(
            400,
            "notSupported",
            f"Query option $search={options['search']!r} is not supported by "
            "mockgraph; use $filter with contains(displayName,'text') instead.",
            target="$search",
        )

    text = options.get("filter")
    return QueryOptions(
        top=_integer(options, "top"),
        skip=_integer(options, "skip") or 0,
        select=_select(options, properties),
        orderby=_orderby(options),
        filter=text,
        matches=compile_filter(text) if text is not None else None,
        count=_boolean(options, "count"),
    )


def _collect(args: MultiDict[str, str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for raw_name, values in args.lists():
        name = raw_name.lower().removeprefix("$")
        if name not in KNOWN_OPTIONS:
            if raw_name.startswith("$"):
                known = ", ".join("$" + item for item in KNOWN_OPTIONS)
                raise _bad_option(
                    name,
                    f"Query option {raw_name!r} is not supported; use one of {known}.",
                )

            continue

        if name in options or len(values) > 1:
            raise _bad_option(
                name, f"Query option '${name}' is given more than once; give it once."
            )

        options[name] = values[0]

    return options


def _bad_option(name: str, message: str) -> GraphError:
    return GraphError(400, "BadRequest", message, target=f"${name}")


def _integer(options: Mapping[str, str], name: str) -> int | None:
    value = options.get(name)
    if value is None:
        return None

    if not value.isascii() or not value.isdigit() or int(value[:20]) > MAX_INTEGER:
        raise _bad_option(
            name,
            f"Invalid value {value!r} for query option '${name}': expected a "
            f"non-negative integer no larger than {MAX_INTEGER}, such as 10.",
        )

    return int(value)


def _boolean(options: Mapping[str, str], name: str) -> bool:
    value = options.get(name)
    if value is None:
        return False

    if value.lower() not in ("true", "false"):
        raise _bad_option(
            name,
            f"Invalid value {value!r} for query option '${name}': "
            "expected true or false.",
        )

    return value.lower() == "true"


def _select(
    options: Mapping[str, str], properties: Iterable[str]
) -> tuple[str, ...] | None:
    value = options.get("select")
    if value is None or value.strip() == "*":
        return None

    known = list(properties)
    names = [name.strip() for name in value.split(",")]
    for name in names:
        if not name:
            raise _bad_option(
                "select",
                f"Invalid value {value!r} for query option '$select': it has an empty "
                "property name; list names separated by commas, such as "
                "displayName,proficiency.",
            )

        if name not in known:
            raise _bad_option(
                "select",
                f"Property {name!r} in $select does not exist on type "
                f"'microsoft.graph.skillProficiency'; use one of {', '.join(known)}.",
            )

    return tuple(dict.fromkeys(names))


def _orderby(options: Mapping[str, str]) -> tuple[tuple[str, bool], ...]:
    value = options.get("orderby")
    if value is None:
        return ()

    order: list[tuple[str, bool]] = []
    for item in value.split(","):
        match = _ORDER_ITEM.fullmatch(item)
        if match is None:
            raise _bad_option(
                "orderby",
                f"Invalid value {value!r} for query option '$orderby': it has an empty "
                "item; write properties separated by commas, such as "
                "'displayName desc,createdDateTime'.",
            )

        path, direction = match.groups()
        if direction is not None and direction.lower() not in ("asc", "desc"):
            raise _bad_option(
                "orderby",
                f"Invalid direction {direction!r} for {path!r} in $orderby; "
                "use asc or desc.",
            )

        if path not in SORTABLE:
            raise _unsortable(path)

        order.append((path, direction is not None and direction.lower() == "desc"))

    return tuple(order)


def _unsortable(path: str) -> GraphError:
    kind = PROPERTY_TYPES.get(path)
    if kind is not None:
        return GraphError(
            400,
            "notSupported",
            f"Ordering by {path!r} is not supported: it is a {kind}; order by one of "
            f"{', '.join(name for name in SORTABLE if '/' not in name)}.",
            target="$orderby",
        )

    return _bad_option(
        "orderby",
        f"Property {path!r} in $orderby does not exist on type "
        f"'microsoft.graph.skillProficiency' or cannot be sorted; use one of "
        f"{', '.join(name for name in SORTABLE if '/' not in name)}, or a path "
        "such as createdBy/user/displayName.",
    )
