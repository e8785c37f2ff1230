"""End-to-end tests with the official Microsoft Graph beta Python SDK as the client."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph_beta import GraphRequestAdapter, GraphServiceClient
from msgraph_beta.generated.models.allowed_audiences import AllowedAudiences
from msgraph_beta.generated.models.inference_data import InferenceData
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_beta.generated.models.person_data_sources import PersonDataSources
from msgraph_beta.generated.models.skill_proficiency import SkillProficiency
from msgraph_beta.generated.models.skill_proficiency_level import SkillProficiencyLevel

from mockgraph import Config, MockGraph

TOKEN = "sdk-test-token"


class StaticTokenProvider(AccessTokenProvider):
    """Hand the SDK a fixed token for 127.0.0.1 only."""

    def __init__(self) -> None:
        self.validator = AllowedHostsValidator(["127.0.0.1"])

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return TOKEN if self.validator.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.validator


def sdk_client(base_url: str) -> GraphServiceClient:
    auth = BaseBearerTokenAuthenticationProvider(StaticTokenProvider())
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = base_url
    return GraphServiceClient(request_adapter=adapter)


@pytest.fixture(scope="module")
def server():
    with MockGraph(Config(port=0, seed=3)) as graph:
        yield graph


@pytest.fixture(autouse=True)
def empty(server):
    server.reset()


def full_skill() -> SkillProficiency:
    return SkillProficiency(
        allowed_audiences=AllowedAudiences.Organization,
        categories=["Professional", "Programming languages"],
        collaboration_tags=["askMeAbout", "ableToMentor"],
        display_name="Python",
        inference=InferenceData(confidence_score=0.9, user_has_verified_accuracy=True),
        is_searchable=True,
        proficiency=SkillProficiencyLevel.Expert,
        source=PersonDataSources(type=["User"]),
        thumbnail_url="https://example.com/python.png",
        web_url="https://www.python.org",
    )


def test_sdk_create_every_client_field(server):
    client = sdk_client(server.url)

    skill = asyncio.run(client.users.by_user_id("42").profile.skills.post(full_skill()))

    assert isinstance(skill, SkillProficiency)
    assert uuid.UUID(skill.id)
    assert skill.display_name == "Python"
    assert skill.proficiency == SkillProficiencyLevel.Expert
    # The SDK parses the flags enum into a list of members.
    assert skill.allowed_audiences == [AllowedAudiences.Organization]
    assert skill.categories == ["Professional", "Programming languages"]
    assert skill.collaboration_tags == ["askMeAbout", "ableToMentor"]
    assert skill.web_url == "https://www.python.org"
    assert skill.thumbnail_url == "https://example.com/python.png"
    assert skill.is_searchable is True
    assert skill.inference.confidence_score == 0.9
    assert skill.inference.user_has_verified_accuracy is True
    assert skill.source.type == ["User"]
    assert skill.created_date_time.tzinfo is not None
    assert skill.created_date_time == skill.last_modified_date_time
    assert abs(
        datetime.datetime.now(datetime.timezone.utc) - skill.created_date_time
    ) < datetime.timedelta(minutes=5)
    assert skill.created_by.user.display_name
    assert uuid.UUID(skill.created_by.user.id)
    assert skill.created_by.application is None
    assert skill.additional_data == {
        "@odata.context": skill.additional_data["@odata.context"]
    }


def test_sdk_request_accepted_as_sent(server):
    client = sdk_client(server.url)

    asyncio.run(client.users.by_user_id("42").profile.skills.post(full_skill()))

    record = server.interactions.filter(operation="createSkill").last()
    assert record.status == 201
    assert record.warnings == []
    assert record.headers["Authorization"] == "Bearer [redacted]"
    assert '"@odata.type": "#microsoft.graph.skillProficiency"' in record.body
    assert "kiota-python" in record.headers["User-Agent"]


def test_sdk_invalid_skill_raises_odata_error(server):
    client = sdk_client(server.url)
    nameless = SkillProficiency(proficiency=SkillProficiencyLevel.Expert)

    with pytest.raises(ODataError) as caught:
        asyncio.run(client.users.by_user_id("42").profile.skills.post(nameless))

    record = server.interactions.last()
    error = caught.value.error
    assert caught.value.response_status_code == 400
    assert error.code == "invalidRequest"
    assert "displayName" in error.message
    assert error.inner_error.request_id == record.response_headers["request-id"]
    assert error.details[0].target == "/displayName"


def test_sdk_trailing_slash_base_url(server):
    client = sdk_client(server.url + "/")

    skill = asyncio.run(client.users.by_user_id("42").profile.skills.post(full_skill()))

    record = server.interactions.last()
    assert skill.display_name == "Python"
    assert record.raw_path == "/beta//users/42/profile/skills"
    assert record.status == 201


def test_sdk_user_principal_name(server):
    client = sdk_client(server.url)

    skill = asyncio.run(
        client.users.by_user_id("megan.bowen@contoso.com").profile.skills.post(
            full_skill()
        )
    )

    assert skill.created_by.user.display_name == "Megan Bowen"
    assert (
        server.interactions.last().path
        == "/beta/users/megan.bowen@contoso.com/profile/skills"
    )


def test_sdk_me(server):
    client = sdk_client(server.url)

    skill = asyncio.run(client.me().profile.skills.post(full_skill()))

    assert skill.display_name == "Python"
    assert server.interactions.last().path == "/beta/me/profile/skills"
