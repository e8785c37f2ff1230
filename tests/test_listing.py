"""The skills list and $count: order, paging, $select, $orderby, $count, on both stores."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from mockgraph import Config, create_app

AUTH = {"Authorization": "Bearer t"}
USER = "megan.bowen@contoso.com"
# Stored out of creation order on purpose: the list must sort by createdDateTime.
SKILLS = [
    {
        "displayName": "Rust",
        "proficiency": "limitedWorking",
        "createdDateTime": "2024-03-01T00:00:00Z",
    },
    {
        "displayName": "Python",
        "proficiency": "expert",
        "createdDateTime": "2024-01-01T00:00:00Z",
    },
    {"displayName": "Azure", "createdDateTime": "2024-02-01T00:00:00Z"},
    {
        "displayName": "Go",
        "proficiency": "expert",
        "createdDateTime": "2024-05-01T00:00:00Z",
    },
    {
        "displayName": "SQL",
        "proficiency": "elementary",
        "createdDateTime": "2024-04-01T00:00:00Z",
    },
]
BY_CREATION = ["Python", "Azure", "Rust", "SQL", "Go"]


def error_of(response):
    return response.get_json()["error"]


@pytest.fixture(scope="module")
def five(shared_skills_api):
    shared_skills_api.load({USER: SKILLS})
    shared_skills_api.user = USER
    return shared_skills_api


@pytest.fixture
def paged(store_spec):
    """An app with a page size of 2, holding the five skills."""
    app = create_app(Config(store=store_spec, page_size=2))
    client = app.test_client()
    client.put("/_mockgraph/skills", json={"users": {USER: SKILLS}})
    yield client
    app.extensions["mockgraph"].store.close()


def names(skills):
    return [skill["displayName"] for skill in skills]


def follow(client, url):
    """GET ``url`` and every next link after it; return all pages' skills and the links."""
    skills, links = [], []
    for _page in range(20):
        body = client.get(url, headers=AUTH).get_json()
        skills += body["value"]
        url = body.get("@odata.nextLink")
        if url is None:
            return skills, links

        links.append(url)

    raise AssertionError(f"more than 20 pages; last link {url}")


# The collection


def test_list_shape(five):
    response = five.get()
    body = response.get_json()

    assert response.status_code == 200
    assert list(body) == ["@odata.context", "value"]
    assert body["@odata.context"] == (
        "http://localhost/beta/$metadata#users('megan.bowen%40contoso.com')/profile/skills"
    )
    assert "@odata.context" not in body["value"][0]


def test_list_default_order_is_created(five):
    assert names(five.list()) == BY_CREATION


def test_list_empty_user(five):
    assert five.list(user="nobody") == []


def test_list_needs_token(five):
    assert five.client.get(five.url()).status_code == 401


def test_list_is_per_user(skills_api):
    skills_api.create("Python", user="alice")
    skills_api.create("Go", user="bob")

    assert names(skills_api.list(user="alice")) == ["Python"]
    assert names(skills_api.list(user="bob")) == ["Go"]


def test_list_shows_created_in_order(skills_api):
    created = [skills_api.create(name)["id"] for name in ("a", "b", "c")]

    assert [skill["id"] for skill in skills_api.list()] == created


# $top, $skip and paging


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"top": "2"}, ["Python", "Azure"]),
        ({"skip": "3"}, ["SQL", "Go"]),
        ({"skip": "1", "top": "2"}, ["Azure", "Rust"]),
        ({"skip": "5"}, []),
        ({"skip": "99999999999"}, []),
        ({"top": "0"}, []),
        ({"top": "100"}, BY_CREATION),
    ],
)
def test_top_and_skip(five, query, expected):
    assert names(five.list(**query)) == expected


def test_top_zero_has_no_next_link(five):
    assert "@odata.nextLink" not in five.get(top="0").get_json()


def test_top_pages_with_next_link(five):
    body = five.get(top="2").get_json()

    assert body["@odata.nextLink"] == (
        "http://localhost/beta/users/megan.bowen@contoso.com/profile/skills?$skip=2&$top=2"
    )


def test_next_links_reach_the_end(five):
    skills, links = follow(five.client, five.url(query={"$top": "2"}))

    assert names(skills) == BY_CREATION
    assert len(links) == 2


def test_next_link_on_request_host(five):
    body = five.client.get(
        five.url(query={"$top": "1"}), headers=AUTH, base_url="http://graph.test:8443"
    ).get_json()

    assert body["@odata.nextLink"].startswith("http://graph.test:8443/beta/users/")


def test_next_link_keeps_route_form(five):
    client = five.client
    body = client.get(
        "/user/megan.bowen@contoso.com/profile/skills?$top=1", headers=AUTH
    )

    assert urlsplit(body.get_json()["@odata.nextLink"]).path == (
        "/user/megan.bowen@contoso.com/profile/skills"
    )


def test_page_size_pages(paged):
    first = paged.get(f"/beta/users/{USER}/profile/skills", headers=AUTH).get_json()
    skills, links = follow(paged, f"/beta/users/{USER}/profile/skills")

    assert names(first["value"]) == ["Python", "Azure"]
    assert names(skills) == BY_CREATION
    assert len(links) == 2


def test_page_size_caps_top(paged):
    body = paged.get(
        f"/beta/users/{USER}/profile/skills?$top=4", headers=AUTH
    ).get_json()

    assert len(body["value"]) == 2
    assert body["@odata.nextLink"].endswith("$skip=2&$top=4")


def test_next_link_keeps_options(paged):
    url = (
        f"/beta/users/{USER}/profile/skills?$count=true"
        "&$filter=proficiency%20ne%20%27expert%27&$orderby=displayName%20desc"
        "&$select=displayName,proficiency"
    )
    first = paged.get(url, headers=AUTH).get_json()
    skills, _links = follow(paged, url)
    query = parse_qs(urlsplit(first["@odata.nextLink"]).query)

    assert names(skills) == ["SQL", "Rust", "Azure"]
    assert first["@odata.count"] == 3
    assert query["$filter"] == ["proficiency ne 'expert'"]
    assert query["$orderby"] == ["displayName desc"]
    assert query["$select"] == ["displayName,proficiency"]
    assert "%20ne%20%27expert%27" in first["@odata.nextLink"]
    assert set(skills[0]) == {"id", "displayName", "proficiency"}


@pytest.mark.parametrize("option", ["top", "skip"])
@pytest.mark.parametrize(
    "value", ["-1", "abc", "1.5", "", " 1", "+1", "1e3", "٣", "9" * 30]
)
def test_top_skip_invalid(five, option, value):
    response = five.get(**{option: value})
    error = error_of(response)

    assert response.status_code == 400
    assert error["code"] == "BadRequest"
    assert error["target"] == f"${option}"
    assert f"${option}" in error["message"]
    assert repr(value) in error["message"]


# Option names


@pytest.mark.parametrize("name", ["$top", "top", "$TOP", "Top", "%24top"])
def test_option_name_forms(five, name):
    response = five.client.get(f"{five.url()}?{name}=1", headers=AUTH)

    assert names(response.get_json()["value"]) == ["Python"]


def test_option_given_twice(five):
    response = five.client.get(f"{five.url()}?$top=1&top=2", headers=AUTH)
    error = error_of(response)

    assert response.status_code == 400
    assert "more than once" in error["message"]


def test_unknown_dollar_option(five):
    response = five.client.get(f"{five.url()}?$format=json", headers=AUTH)
    error = error_of(response)

    assert response.status_code == 400
    assert "'$format'" in error["message"]
    assert "$filter" in error["message"]


def test_custom_option_ignored(five):
    response = five.client.get(f"{five.url()}?debug=1", headers=AUTH)

    assert names(response.get_json()["value"]) == BY_CREATION


@pytest.mark.parametrize(
    ("option", "value"),
    [("expand", "owner"), ("search", "python"), ("search", '"displayName:py"')],
)
def test_expand_and_search_not_supported(five, option, value):
    response = five.get(**{option: value})
    error = error_of(response)

    assert response.status_code == 400
    assert error["code"] == "notSupported"
    assert error["target"] == f"${option}"
    assert repr(value) in error["message"]


# $select


def test_select(five):
    body = five.get(select="displayName,proficiency").get_json()

    assert [set(skill) for skill in body["value"]] == [
        {"id", "displayName", "proficiency"}
    ] * 5
    assert body["@odata.context"].endswith("/profile/skills(displayName,proficiency)")


def test_select_id_only(five):
    assert [set(skill) for skill in five.list(select="id")] == [{"id"}] * 5


def test_select_star(five):
    assert "createdBy" in five.list(select="*")[0]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("nickname", "Property 'nickname' in $select does not exist"),
        ("displayName,", "empty property name"),
        ("createdBy/user", "'createdBy/user'"),
        ("@odata.type", "'@odata.type'"),
    ],
)
def test_select_invalid(five, value, text):
    response = five.get(select=value)
    error = error_of(response)

    assert response.status_code == 400
    assert error["target"] == "$select"
    assert text in error["message"]


# $orderby


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("displayName", ["Azure", "Go", "Python", "Rust", "SQL"]),
        ("displayName desc", ["SQL", "Rust", "Python", "Go", "Azure"]),
        ("displayName DESC", ["SQL", "Rust", "Python", "Go", "Azure"]),
        ("createdDateTime desc", list(reversed(BY_CREATION))),
        ("proficiency", ["Azure", "SQL", "Rust", "Python", "Go"]),
        ("proficiency desc", ["Python", "Go", "Rust", "SQL", "Azure"]),
        ("proficiency desc,displayName", ["Go", "Python", "Rust", "SQL", "Azure"]),
        (
            "proficiency desc, displayName desc",
            ["Python", "Go", "Rust", "SQL", "Azure"],
        ),
        ("createdBy/user/displayName", BY_CREATION),
    ],
)
def test_orderby(five, value, expected):
    assert names(five.list(orderby=value)) == expected


@pytest.mark.parametrize(
    ("value", "code", "text"),
    [
        ("nickname", "BadRequest", "'nickname'"),
        ("displayName up", "BadRequest", "'up'"),
        ("displayName,,proficiency", "BadRequest", "empty item"),
        ("categories", "notSupported", "'categories'"),
        ("allowedAudiences desc", "notSupported", "'allowedAudiences'"),
    ],
)
def test_orderby_invalid(five, value, code, text):
    response = five.get(orderby=value)
    error = error_of(response)

    assert response.status_code == 400
    assert error["code"] == code
    assert error["target"] == "$orderby"
    assert text in error["message"]


# $count


def test_count_true_is_filtered_total(five):
    body = five.get(count="true", top="1", filter="proficiency eq 'expert'").get_json()

    assert body["@odata.count"] == 2
    assert len(body["value"]) == 1


def test_count_false_leaves_it_out(five):
    assert "@odata.count" not in five.get(count="false").get_json()


def test_count_invalid(five):
    response = five.get(count="yes")

    assert response.status_code == 400
    assert "'yes'" in error_of(response)["message"]


def test_count_segment(five):
    response = five.get("/$count")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "5"
    assert response.headers["Content-Type"] == "text/plain;charset=utf-8"


def test_count_segment_head(five):
    response = five.client.head(five.url("/$count"), headers=AUTH)

    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == "1"


def test_count_segment_empty_user(five):
    assert five.get("/$count", user="nobody").get_data(as_text=True) == "0"


@pytest.mark.parametrize("option", ["top", "skip", "orderby", "select", "count"])
def test_count_segment_rejects_list_options(five, option):
    response = five.get("/$count", **{option: "1"})
    error = error_of(response)

    assert response.status_code == 400
    assert "does not apply to the $count segment" in error["message"]
