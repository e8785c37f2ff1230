"""The official Graph beta SDK (msgraph-beta-sdk) against injected faults and JWT auth."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph_beta import GraphRequestAdapter, GraphServiceClient
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_beta.generated.models.skill_proficiency import SkillProficiency
from msgraph_beta.generated.models.skill_proficiency_level import SkillProficiencyLevel

from mockgraph import Config, MockGraph
from mockgraph.fakedata import user_object_id
from mockgraph.fault_rules import parse_rule
from mockgraph.tokens import make_token

SKILLS = "/users/42/profile/skills"
# msgraph-beta-sdk 1.66 and kiota-abstractions 1.16 warn about their own deprecated
# classes when the SDK's request builders are imported.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph_beta"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]


class StaticTokenProvider(AccessTokenProvider):
    """Hand the SDK one fixed token, for the mock on 127.0.0.1 only."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.validator = AllowedHostsValidator(["127.0.0.1"])

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.validator


def sdk_client(graph: MockGraph, token: str = "sdk-token") -> GraphServiceClient:
    provider = BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token))
    adapter = GraphRequestAdapter(provider)
    adapter.base_url = graph.url
    return GraphServiceClient(request_adapter=adapter)


def create_skill(client: GraphServiceClient, user: str = "42") -> SkillProficiency:
    skill = SkillProficiency(
        display_name="Python", proficiency=SkillProficiencyLevel.Expert
    )
    return asyncio.run(client.users.by_user_id(user).profile.skills.post(skill))


def test_sdk_retries_injected_429():
    rule = {
        "method": "POST",
        "path": SKILLS,
        "status": 429,
        "retryAfter": 1,
        "times": 1,
    }
    with MockGraph(Config(port=0, seed=1)) as graph:
        graph.state.faults.add(parse_rule(rule))
        created = create_skill(sdk_client(graph))
        attempts = graph.assert_requested("POST", SKILLS, times=2)

    first, retry = attempts
    assert created.display_name == "Python"
    assert first.status == 429
    assert first.fault["status"] == 429
    assert first.fault["retryAfter"] == 1
    assert first.response_headers["Retry-After"] == "1"
    assert "Retry-Attempt" not in first.headers
    assert retry.status == 201
    assert retry.fault is None
    assert retry.headers["Retry-Attempt"] == "1"


def test_sdk_create_with_jwt_names_caller():
    token = make_token(
        "ada@contoso.com", name="Ada Lovelace", scopes=("User.ReadWrite",)
    )
    with MockGraph(Config(port=0, seed=1, auth="jwt")) as graph:
        created = create_skill(sdk_client(graph, token), user="ada@contoso.com")

    assert created.created_by.user.display_name == "Ada Lovelace"
    assert created.created_by.user.id == user_object_id("ada@contoso.com")


def test_sdk_reads_access_denied_as_odata_error():
    token = make_token("ada@contoso.com", scopes=("User.Read",))
    with (
        MockGraph(Config(port=0, auth="jwt")) as graph,
        pytest.raises(ODataError) as caught,
    ):
        create_skill(sdk_client(graph, token))

    assert caught.value.response_status_code == 403
    assert caught.value.error.code == "accessDenied"
    assert "User.ReadWrite or User.ReadWrite.All" in caught.value.error.message
