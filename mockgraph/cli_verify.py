"""The ``mockgraph verify`` command: check contract files against a provider or schemas.

:mod:`mockgraph.verify` is imported when the command runs, because it imports
``requests``, which every other command can do without.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

import click

from .schema_check import check_contract
from .validation import SchemaSet

if TYPE_CHECKING:
    from .verify import InteractionResult, Provider

# Exit statuses: every interaction passed, some failed, a file could not be used.
EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


@click.command()
@click.argument("contracts", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--provider-url",
    metavar="URL",
    help="Root URL of the provider to replay against, such as http://127.0.0.1:8080; "
    "default: a fresh mockgraph in this process.",
)
@click.option(
    "--state-url",
    metavar="URL",
    help="Pact state-change endpoint to call before each request; default: the "
    "provider's /_mockgraph/provider-states when it is a mockgraph, else none.",
)
@click.option(
    "--token",
    envvar="MOCKGRAPH_TOKEN",
    help="Credential sent in place of a redacted Authorization value "
    "(also read from MOCKGRAPH_TOKEN).",
)
@click.option(
    "--schema-only",
    is_flag=True,
    help="Only check recorded request bodies against the schemas.",
)
@click.option(
    "--schema-dir",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of JSON Schema files to use instead of the shipped ones.",
)
def verify(
    contracts: tuple[str, ...],
    provider_url: str | None,
    state_url: str | None,
    token: str | None,
    schema_only: bool,
    schema_dir: str | None,
) -> None:
    """Replay Pact contract files against a provider; exit 1 if any interaction fails."""
    options = {"provider_url": provider_url, "state_url": state_url, "token": token}
    sys.exit(run_verify(contracts, schema_only, schema_dir, **options))


def run_verify(
    contracts: tuple[str, ...] | list[str],
    schema_only: bool = False,
    schema_dir: str | None = None,
    **options: Any,
) -> int:
    """Check each contract file, print one line per interaction, and return the exit status."""
    from .verify import ContractError, http_interactions, load_contract

    if schema_dir is not None:
        try:
            SchemaSet.load(schema_dir)
        except (OSError, ValueError) as err:
            click.echo(f"error: --schema-dir: {err}")
            return EXIT_UNUSABLE

    passed = failed = 0
    for path in contracts:
        try:
            document = load_contract(path)
        except ContractError as err:
            click.echo(f"error: {err}")
            return EXIT_UNUSABLE

        if not http_interactions(document):
            click.echo(
                f"{path}: no HTTP interactions to verify; record some before verifying."
            )
            failed += 1
            continue

        click.echo(_heading(path, document))
        if schema_only:
            file_passed, file_failed = _check_schemas(document, schema_dir)
        else:
            file_passed, file_failed = _replay(document, schema_dir, **options)

        passed += file_passed
        failed += file_failed

    click.echo(f"{passed} passed, {failed} failed")
    return EXIT_PASSED if failed == 0 else EXIT_FAILED


def _heading(path: str, document: dict[str, Any]) -> str:
    from .verify import http_interactions

    consumer = (document.get("consumer") or {}).get("name", "?")
    provider = (document.get("provider") or {}).get("name", "?")
    count = len(http_interactions(document))
    return f"{path}: {count} interaction(s) from {consumer!r} to {provider!r}"


def _replay(
    document: dict[str, Any],
    schema_dir: str | None,
    provider_url: str | None,
    state_url: str | None,
    token: str | None,
) -> tuple[int, int]:
    from .verify import (
        HttpProvider,
        InProcessProvider,
        find_state_url,
        provider_config,
        verify_contract,
    )

    provider: Provider
    if provider_url is None:
        for name in ("mockgraph.app", "mockgraph.access"):
            request_logger = logging.getLogger(name)
            if not request_logger.isEnabledFor(logging.DEBUG):
                # One INFO line per replayed request would bury the results. With
                # -v they are shown.
                request_logger.setLevel(logging.WARNING)

        provider = InProcessProvider(provider_config(document, schema_dir))
    else:
        state_url = state_url or find_state_url(provider_url)
        if state_url is None:
            click.echo(
                "  note: provider states are not set up; the provider is not a mockgraph."
            )

        provider = HttpProvider(provider_url, state_url)

    results = verify_contract(document, provider, token)
    for result in results:
        _print_result(result)

    passed = sum(result.passed for result in results)
    return passed, len(results) - passed


def _print_result(result: InteractionResult) -> None:
    click.echo(f"  {'PASS' if result.passed else 'FAIL'}  {result.description}")
    if result.error is not None:
        click.echo(f"        error: {result.error}")

    for mismatch in result.mismatches:
        click.echo(f"        {mismatch.describe()}")


def _check_schemas(document: dict[str, Any], schema_dir: str | None) -> tuple[int, int]:
    schemas = SchemaSet.load(schema_dir)
    recorded = ((document.get("metadata") or {}).get("mockgraph") or {}).get(
        "schemaVersion"
    )
    if recorded is not None and recorded != schemas.version:
        click.echo(
            f"  note: recorded with schema version {recorded}, checking with {schemas.version}"
        )

    passed = failed = 0
    for result in check_contract(document, schemas):
        if result.skipped is not None:
            click.echo(f"  SKIP  {result.description} ({result.skipped})")
        elif result.passed:
            passed += 1
            click.echo(f"  PASS  {result.description}")
        else:
            failed += 1
            click.echo(f"  FAIL  {result.description}")
            for detail in result.details:
                click.echo(
                    f"        {detail.target or '/'}: {detail.keyword or detail.code}: {detail.message}"
                )

    return passed, failed
