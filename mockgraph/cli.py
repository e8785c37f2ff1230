"""The ``mockgraph`` command: serve the mock, or validate a body offline."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli_options import frontend_options, log_frontend_settings
from .cli_verify import verify
from .config import (
    DEFAULT_CONSUMER,
    DEFAULT_HOST,
    DEFAULT_JOURNAL_LIMIT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_ME_USER,
    DEFAULT_PAGE_SIZE,
    DEFAULT_PORT,
    DEFAULT_THREADS,
    DEFAULT_WORKERS,
    MAX_SEED_SKILLS,
    MEMORY_STORE,
    Config,
)
from .errors import GraphError
from .jsonbody import parse_json_object
from .tokens import MAX_TOKEN_LIFETIME
from .validation import CREATE_SCHEMA, UPDATE_SCHEMA, SchemaSet

if TYPE_CHECKING:
    from .state import MockGraphState

logger = logging.getLogger("mockgraph")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.version_option(package_name="mockgraph")
def cli(verbose: bool) -> None:
    """A validating, recording mock of the Microsoft Graph beta profile skills API."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Faker logs every provider lookup at DEBUG, which would drown -v output.
    logging.getLogger("faker").setLevel(logging.INFO)


@cli.command()
@click.option(
    "--host", default=DEFAULT_HOST, show_default=True, help="Address to bind."
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port; 0 picks a free one.",
)
@click.option("--seed", type=int, help="Make generated ids and values reproducible.")
@click.option(
    "--strict",
    is_flag=True,
    help="Reject server-set properties with 400 instead of ignoring them.",
)
@click.option(
    "--max-body-bytes",
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest request body accepted, in bytes; larger ones get 413.",
)
@click.option(
    "--journal-limit",
    default=DEFAULT_JOURNAL_LIMIT,
    show_default=True,
    type=click.IntRange(min=0),
    help="Interactions kept; older ones are dropped and counted. 0 records nothing.",
)
@click.option(
    "--journal-file",
    type=click.Path(dir_okay=False),
    help="Also append every interaction to this JSON Lines file.",
)
@click.option(
    "--me",
    "me_user",
    default=DEFAULT_ME_USER,
    show_default=True,
    callback=lambda _context, _param, value: _require_text(value),
    help="User id or principal name that /me stands for.",
)
@click.option(
    "--schema-dir",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of JSON Schema files to use instead of the shipped ones.",
)
@click.option(
    "--record",
    "record_file",
    type=click.Path(dir_okay=False),
    help="Record a Pact contract to this file, written on shutdown and on POST /_mockgraph/contract.",
)
@click.option(
    "--record-errors",
    is_flag=True,
    help="Also record requests the mock rejected in the contract.",
)
@click.option(
    "--consumer",
    default=DEFAULT_CONSUMER,
    show_default=True,
    help="Consumer name written in the recorded contract.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log one line per request at INFO level.",
)
@click.option(
    "--workers",
    default=DEFAULT_WORKERS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes that handle requests; more than one serves through "
    "Granian and shares the journal and the skills.",
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Threads per worker process that handle requests.",
)
@frontend_options
@click.option(
    "--store",
    default=MEMORY_STORE,
    show_default=True,
    help="Where skills are kept: 'memory', or 'sqlite:///path.db' for a file that "
    "survives restarts and can be shared by several servers.",
)
@click.option(
    "--seed-skills",
    default=0,
    show_default=True,
    type=click.IntRange(0, MAX_SEED_SKILLS),
    help=f"Generated skills each user gets when first seen, at most {MAX_SEED_SKILLS}.",
)
@click.option(
    "--page-size",
    default=DEFAULT_PAGE_SIZE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Maximum skills in one list page; a smaller $top makes pages smaller.",
)
def serve(access_log: bool, workers: int, threads: int, **options: Any) -> None:
    """Serve the mock until interrupted (Ctrl+C or SIGTERM).

    One worker serves through waitress, threaded, in this process. More workers serve
    through Granian, in separate processes that share the journal and the skills.
    """
    from .serving import check_port_free
    from .serving_app import ServedApplication
    from .state import build_state

    try:
        config = Config(**options)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None

    if not access_log:
        logging.getLogger("mockgraph.access").setLevel(logging.WARNING)

    if workers > 1:
        _serve_workers(config, workers, threads)
        return

    # Imported here, because several workers serve through Granian instead.
    from waitress import create_server

    try:
        if config.port:
            check_port_free(config.host, config.port)

        app = ServedApplication(build_state(config))
        server = create_server(app, host=config.host, port=config.port, threads=threads)
    except (OSError, ValueError) as err:
        # A busy port, an unwritable journal file or a broken schema folder.
        raise click.ClickException(f"cannot start the server: {err}") from None

    port = server.effective_port  # type: ignore[union-attr]
    logger.info(
        "mockgraph serving on http://%s:%s/beta (/me is %s)",
        config.host,
        port,
        config.me_user,
    )
    logger.info("skills are kept in %s", config.store)
    if config.seed_skills:
        logger.info("each new user starts with %d generated skills", config.seed_skills)

    if config.seed is not None:
        logger.info("seed %s: generated ids and values are reproducible", config.seed)

    log_frontend_settings(config)

    def stop(signum: int, _frame: Any) -> None:
        logger.info("received signal %s, stopping", signal.Signals(signum).name)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    app.warm_up()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        _write_contract(app.state)
        logger.info("mockgraph stopped")


def _serve_workers(config: Config, workers: int, threads: int) -> None:
    """Serve through Granian with several worker processes sharing one journal."""
    from .serving import serve as serve_forever

    if config.record_file:
        raise click.UsageError(
            "--record needs --workers 1: each worker process records its own requests"
        )

    try:
        serve_forever(config, workers=workers, threads=threads)
    except (OSError, ValueError) as err:
        raise click.ClickException(f"cannot start the server: {err}") from None


def _require_text(value: str) -> str:
    if not value.strip():
        raise click.BadParameter(
            f"{value!r} is blank; give a user id or principal name, such as "
            f"{DEFAULT_ME_USER!r}."
        )

    return value


def _write_contract(state: MockGraphState) -> None:
    recorder = state.recorder
    path = state.config.record_file
    if recorder is None or path is None:
        return

    try:
        recorder.write(path)
    except OSError:
        logger.exception("failed to write the contract to %s", path)


@cli.command()
@click.argument(
    "bodies",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, exists=True, allow_dash=True),
)
@click.option(
    "--update",
    is_flag=True,
    help="Check as a PATCH body, where displayName is optional.",
)
@click.option("--strict", is_flag=True, help="Reject server-set properties.")
@click.option(
    "--schema-dir",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of JSON Schema files.",
)
def validate(
    bodies: tuple[str, ...], update: bool, strict: bool, schema_dir: str | None
) -> None:
    """Check request bodies offline; exit 1 if any is invalid.

    BODIES are JSON files; "-" reads one body from standard input.
    """
    from .skills import validate_body

    try:
        schemas = SchemaSet.load(schema_dir)
    except (OSError, ValueError) as err:
        raise click.BadParameter(str(err), param_hint="'--schema-dir'") from None

    schema_name = UPDATE_SCHEMA if update else CREATE_SCHEMA
    failed = False
    for name in bodies:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            body = parse_json_object(data)
            warnings = validate_body(schemas, schema_name, body, strict)
        except GraphError as error:
            failed = True
            click.echo(f"{name}: invalid: {error.code}: {error.message}")
            for detail in error.details:
                click.echo(f"  {detail.target}: {detail.code}: {detail.message}")

            continue

        click.echo(f"{name}: valid")
        for warning in warnings:
            click.echo(f"  warning: {warning}")

    sys.exit(1 if failed else 0)


cli.add_command(verify)


@cli.command()
@click.option(
    "--user",
    required=True,
    help="User object id (GUID), or a principal name from which the oid is derived.",
)
@click.option(
    "--name",
    help="Display name (name claim); derived from the principal name when left out.",
)
@click.option(
    "--scopes",
    default="User.ReadWrite",
    show_default=True,
    help="Delegated permissions (scp claim), separated by spaces or commas; '' for none.",
)
@click.option(
    "--roles",
    default="",
    help="Application permissions (roles claim); roles without scopes make an app-only token.",
)
@click.option(
    "--expires-in",
    default=3600,
    show_default=True,
    type=click.IntRange(-MAX_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME),
    help="Seconds until the token expires, at most ten years either way; 0 or less "
    "makes an expired token.",
)
def token(
    user: str, name: str | None, scopes: str, roles: str, expires_in: int
) -> None:
    """Print an unsigned JWT for --auth jwt, for tests and a frontend's dev config."""
    from .tokens import make_token

    if not user.strip():
        raise click.BadParameter(
            "must name a user, such as a GUID or an email address",
            param_hint="'--user'",
        )

    click.echo(make_token(user, name, _names(scopes), _names(roles), expires_in))


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.replace(",", " ").split())


def main() -> None:
    cli(prog_name="mockgraph")
