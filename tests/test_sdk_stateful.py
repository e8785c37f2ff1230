"""The official Graph beta SDK against a live mock: list, page, filter, patch, delete, count."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any
from urllib.parse import urlsplit

import pytest

with warnings.catch_warnings():
    # kiota-abstractions 1.16 warns about its own GetQueryParameters class while the
    # SDK imports it; the warning is not about anything this test does.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kiota_abstractions.authentication import (
        AccessTokenProvider,
        AllowedHostsValidator,
        BaseBearerTokenAuthenticationProvider,
    )
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph_beta import GraphRequestAdapter, GraphServiceClient
    from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph_beta.generated.models.skill_proficiency import SkillProficiency
    from msgraph_beta.generated.models.skill_proficiency_level import (
        SkillProficiencyLevel,
    )
    from msgraph_beta.generated.users.item.profile.skills.count.count_request_builder import (
        CountRequestBuilder,
    )
    from msgraph_beta.generated.users.item.profile.skills.skills_request_builder import (
        SkillsRequestBuilder,
    )

from mockgraph import Config, MockGraph

# The SDK defines deprecated request-configuration classes in modules it imports on
# first use, and each definition warns; none of them is used here.
pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:GetQueryParameters is deprecated:DeprecationWarning"
    ),
]
USER = "adele.vance@contoso.com"
ListOptions = SkillsRequestBuilder.SkillsRequestBuilderGetQueryParameters
CountOptions = CountRequestBuilder.CountRequestBuilderGetQueryParameters


class StaticTokenProvider(AccessTokenProvider):
    """Hand the SDK a fixed token for 127.0.0.1 and nothing else."""

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        if not self.get_allowed_hosts_validator().is_url_host_valid(uri):
            return ""

        return "test-token"

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def graph(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdk")
    store = (
        "memory" if request.param == "memory" else f"sqlite:///{folder / 'skills.db'}"
    )
    with MockGraph(Config(port=0, seed=3, store=store)) as server:
        yield server


def sdk_client(graph: MockGraph) -> GraphServiceClient:
    adapter = GraphRequestAdapter(
        BaseBearerTokenAuthenticationProvider(StaticTokenProvider())
    )
    adapter.base_url = graph.url
    return GraphServiceClient(request_adapter=adapter)


async def walk(graph: MockGraph) -> dict[str, Any]:
    """Run the whole scenario through the SDK and return what it parsed."""
    skills = sdk_client(graph).users.by_user_id(USER).profile.skills
    seen: dict[str, Any] = {}
    created = []
    for name, level in [
        ("Python", SkillProficiencyLevel.Expert),
        ("Go", SkillProficiencyLevel.AdvancedProfessional),
        ("Spanish", SkillProficiencyLevel.Elementary),
    ]:
        body = SkillProficiency(
            display_name=name, proficiency=level, categories=["Professional"]
        )
        created.append(await skills.post(body))

    seen["created"] = created
    seen["list"] = await skills.get()

    pages = [
        await skills.get(
            RequestConfiguration(query_parameters=ListOptions(top=1, count=True))
        )
    ]
    while pages[-1].odata_next_link and len(pages) < 10:
        pages.append(await skills.with_url(pages[-1].odata_next_link).get())

    seen["pages"] = pages
    seen["filtered"] = await skills.get(
        RequestConfiguration(
            query_parameters=ListOptions(
                filter="proficiency ne 'expert'",
                orderby=["displayName desc"],
                select=["displayName"],
            )
        )
    )
    item = skills.by_skill_proficiency_id(created[1].id)
    seen["patched"] = await item.patch(
        SkillProficiency(
            proficiency=SkillProficiencyLevel.Expert, web_url="https://go.dev"
        )
    )
    seen["got"] = await item.get()
    await skills.by_skill_proficiency_id(created[2].id).delete()
    try:
        await skills.by_skill_proficiency_id(created[2].id).get()
    except ODataError as error:
        seen["missing"] = error

    seen["count"] = await skills.count.get()
    seen["expert_count"] = await skills.count.get(
        RequestConfiguration(
            query_parameters=CountOptions(filter="proficiency eq 'expert'")
        )
    )
    seen["me"] = await sdk_client(graph).me().profile.skills.get()
    return seen


@pytest.fixture(scope="module")
def seen(graph):
    """What the SDK parsed along the scenario; it runs once per store."""
    return asyncio.run(walk(graph))


def test_sdk_creates_and_lists(seen):
    created_ids = [skill.id for skill in seen["created"]]

    assert [skill.id for skill in seen["list"].value] == created_ids
    assert [skill.display_name for skill in seen["list"].value] == [
        "Python",
        "Go",
        "Spanish",
    ]
    assert seen["list"].value[0].proficiency == SkillProficiencyLevel.Expert
    assert seen["list"].value[0].categories == ["Professional"]
    assert seen["list"].odata_next_link is None


def test_sdk_follows_next_links(seen):
    pages = seen["pages"]

    assert len(pages) == 3
    assert [len(page.value) for page in pages] == [1, 1, 1]
    assert [page.value[0].display_name for page in pages] == ["Python", "Go", "Spanish"]
    assert [page.odata_count for page in pages] == [3, 3, 3]
    assert pages[0].odata_next_link.startswith("http://127.0.0.1:")
    assert pages[-1].odata_next_link is None


def test_sdk_requests_next_links_verbatim(seen, graph):
    links = [page.odata_next_link for page in seen["pages"][:-1]]
    queries = {record.query for record in graph.interactions.filter(method="GET")}

    assert [urlsplit(link).query in queries for link in links] == [True, True]


def test_sdk_filter_order_select(seen):
    filtered = seen["filtered"].value

    assert [skill.display_name for skill in filtered] == ["Spanish", "Go"]
    assert all(skill.proficiency is None for skill in filtered)
    assert all(skill.id for skill in filtered)


def test_sdk_patch(seen):
    patched, got = seen["patched"], seen["got"]

    assert patched.proficiency == SkillProficiencyLevel.Expert
    assert patched.web_url == "https://go.dev"
    assert patched.display_name == "Go"
    assert patched.categories == ["Professional"]
    assert patched.created_date_time == seen["created"][1].created_date_time
    assert patched.last_modified_date_time > seen["created"][1].last_modified_date_time
    assert got.proficiency == SkillProficiencyLevel.Expert
    # Only the annotation is left over: every property parsed into a model field.
    assert set(got.additional_data) == {"@odata.context"}


def test_sdk_delete_then_not_found(seen):
    error = seen["missing"]

    assert error.response_status_code == 404
    assert error.error.code == "itemNotFound"
    assert seen["created"][2].id in error.error.message


def test_sdk_count(seen):
    assert seen["count"] == 2
    assert seen["expert_count"] == 2


def test_sdk_me_is_configured_user(seen):
    assert [skill.display_name for skill in seen["me"].value] == ["Python", "Go"]
