"""The ``mockgraph`` command: serve the mock, or validate a body offline."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from .config import DEFAULT_HOST, DEFAULT_JOURNAL_LIMIT, DEFAULT_MAX_BODY_BYTES, DEFAULT_ME_USER
from .config import DEFAULT_PORT, DEFAULT_THREADS, DEFAULT_WORKERS, Config
from .errors import GraphError
from .http import parse_json_object
from .validation import CREATE_SCHEMA, UPDATE_SCHEMA, SchemaSet

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


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="TCP port; 0 picks a free one.")
@click.option("--seed", type=int, help="Make generated ids and values reproducible.")
@click.option("--strict", is_flag=True, help="Reject server-set properties with 400 instead of ignoring them.")
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
@click.option("--journal-file", type=click.Path(dir_okay=False), help="Also append every interaction to this JSON Lines file.")
@click.option("--me", "me_user", default=DEFAULT_ME_USER, show_default=True, help="User id or principal name that /me stands for.")
@click.option("--schema-dir", type=click.Path(file_okay=False, exists=True), help="Folder of JSON Schema files to use instead of the shipped ones.")
@click.option(
    "--workers",
    default=DEFAULT_WORKERS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes that handle requests; they share one journal.",
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Threads per worker process that handle requests.",
)
def serve(workers: int, threads: int, **options: Any) -> None:
    """Serve the mock until interrupted (Ctrl+C or SIGTERM)."""
    from .serving import serve as serve_forever

    try:
        serve_forever(Config(**options), workers=workers, threads=threads)
    except OSError as err:
        raise click.ClickException(str(err.strerror or err)) from None


@cli.command()
@click.argument("bodies", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--update", is_flag=True, help="Check as a PATCH body, where displayName is optional.")
@click.option("--strict", is_flag=True, help="Reject server-set properties.")
@click.option("--schema-dir", type=click.Path(file_okay=False, exists=True), help="Folder of JSON Schema files.")
def validate(bodies: tuple[str, ...], update: bool, strict: bool, schema_dir: str | None) -> None:
    """Check request bodies offline; exit 1 if any is invalid."""
    from .skills import validate_body

    schemas = SchemaSet.load(schema_dir)
    schema_name = UPDATE_SCHEMA if update else CREATE_SCHEMA
    failed = False
    for name in bodies:
        try:
            body = parse_json_object(Path(name).read_bytes())
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


def main() -> None:
    cli(prog_name="mockgraph")
