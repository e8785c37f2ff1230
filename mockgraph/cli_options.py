"""Options of ``mockgraph serve`` for browser apps: CORS, faults, throttling and auth."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import click

from .config import AUTH_MODES, DEFAULT_CORS_ORIGINS, Config
from .errors import GraphError
from .fault_rules import FaultSpec, parse_rule
from .throttle import ThrottleLimit

logger = logging.getLogger("mockgraph")

Command = Callable[..., Any]


def _parse_faults(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[FaultSpec, ...]:
    specs = []
    for text in values:
        try:
            data = json.loads(text)
        except ValueError as err:
            raise click.BadParameter(f"{text!r} is not valid JSON ({err}).") from None

        try:
            specs.append(parse_rule(data, source="--fault rule"))
        except GraphError as error:
            raise click.BadParameter(error.message) from None

    return tuple(specs)


def _parse_throttle(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> ThrottleLimit | None:
    if value is None:
        return None

    try:
        return ThrottleLimit.parse(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _origins_or_default(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    return values or DEFAULT_CORS_ORIGINS


def frontend_options(command: Command) -> Command:
    """Add the options that set CORS origins, faults, throttling and auth mode."""
    options = [
        click.option(
            "--cors-origin",
            "cors_origins",
            multiple=True,
            callback=_origins_or_default,
            metavar="ORIGIN",
            help="Browser origin allowed to call the mock, such as http://localhost:5173; "
            "'*' in it matches anything, and a lone '*' allows every origin. Repeatable. "
            f"Default: {' and '.join(DEFAULT_CORS_ORIGINS)}.",
        ),
        click.option(
            "--fault",
            "faults",
            multiple=True,
            callback=_parse_faults,
            metavar="JSON",
            help='Fault rule, such as \'{"method": "POST", "status": 503, "times": 1}\'. '
            "Repeatable; see docs/frontend.md for the fields.",
        ),
        click.option(
            "--throttle",
            callback=_parse_throttle,
            metavar="N/SECONDS",
            help="Allow each user N requests per SECONDS-second window; more get 429 "
            "with Retry-After.",
        ),
        click.option(
            "--auth",
            type=click.Choice(AUTH_MODES),
            default="any",
            show_default=True,
            help="'any' accepts any bearer token; 'jwt' requires an unexpired JWT with "
            "the right scopes, and does not check its signature.",
        ),
    ]
    for option in reversed(options):
        command = option(command)

    return command


def log_frontend_settings(config: Config) -> None:
    """Log the CORS origins, fault rules, throttle and auth mode a server starts with."""
    logger.info("CORS origins allowed: %s", ", ".join(config.cors_origins))
    for number, spec in enumerate(config.faults, 1):
        logger.info("fault rule %d: %s", number, json.dumps(spec.to_json()))

    if config.throttle is not None:
        limit = config.throttle
        logger.info(
            "throttle: %d requests per user per %g seconds",
            limit.requests,
            limit.window_seconds,
        )

    if config.auth == "jwt":
        logger.info(
            "auth jwt: tokens must be unexpired JWTs; signatures are not checked"
        )
