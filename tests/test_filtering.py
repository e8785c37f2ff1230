"""$filter on the skills list and on $count, on both stores."""

from __future__ import annotations

import random

import pytest

USER = "adele.vance@contoso.com"
PYTHON_ID = "a1a1a1a1-0000-4000-8000-000000000001"
# Five skills in creation order, with every kind of property the filter reads.
TEAM = [
    {
        "id": PYTHON_ID,
        "displayName": "Python",
        "proficiency": "expert",
        "categories": ["Programming", "Data"],
        "collaborationTags": ["askMeAbout"],
        "allowedAudiences": "organization",
        "webUrl": "https://www.python.org",
        "isSearchable": True,
        "inference": {"confidenceScore": 0.9, "userHasVerifiedAccuracy": True},
        "createdDateTime": "2023-01-01T00:00:00.0000000Z",
    },
    {
        "displayName": "Go",
        "proficiency": "advancedProfessional",
        "categories": ["Programming"],
        "allowedAudiences": "organization,family",
        "createdDateTime": "2023-06-01T00:00:00.0000000Z",
    },
    {
        "displayName": "Public speaking",
        "proficiency": "generalProfessional",
        "categories": ["Communication"],
        "allowedAudiences": "everyone",
        "isSearchable": False,
        "webUrl": "https://en.wikipedia.org/wiki/Public_speaking",
        "createdDateTime": "2024-01-01T00:00:00.0000000Z",
    },
    {
        "displayName": "Spanish",
        "proficiency": "elementary",
        "categories": ["Languages"],
        "allowedAudiences": "me",
        "createdDateTime": "2024-06-01T00:00:00.0000000Z",
    },
    {
        "displayName": "O'Reilly editing",
        "createdDateTime": "2024-09-01T00:00:00.0000000Z",
    },
]
ALL = ["Python", "Go", "Public speaking", "Spanish", "O'Reilly editing"]


@pytest.fixture(scope="module")
def team(shared_skills_api):
    shared_skills_api.load({USER: TEAM})
    shared_skills_api.user = USER
    return shared_skills_api


def names(team, text):
    return [skill["displayName"] for skill in team.list(filter=text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("proficiency eq 'expert'", ["Python"]),
        (
            "proficiency ne 'expert'",
            ["Go", "Public speaking", "Spanish", "O'Reilly editing"],
        ),
        ("proficiency ge 'advancedProfessional'", ["Python", "Go"]),
        ("proficiency lt 'generalProfessional'", ["Spanish"]),
        ("proficiency eq null", ["O'Reilly editing"]),
        ("proficiency ne null", ["Python", "Go", "Public speaking", "Spanish"]),
        ("proficiency in ('expert', 'elementary')", ["Python", "Spanish"]),
        ("'expert' eq proficiency", ["Python"]),
        ("displayName eq 'python'", ["Python"]),
        ("displayName eq 'O''Reilly editing'", ["O'Reilly editing"]),
        ("displayName gt 'P'", ["Python", "Public speaking", "Spanish"]),
        ("startswith(displayName,'p')", ["Python", "Public speaking"]),
        ("endswith(displayName, 'ING')", ["Public speaking", "O'Reilly editing"]),
        ("contains(displayName,'o')", ["Python", "Go", "O'Reilly editing"]),
        ("contains(webUrl,'wikipedia')", ["Public speaking"]),
        ("webUrl eq null", ["Go", "Spanish", "O'Reilly editing"]),
        ("categories/any(c: c eq 'programming')", ["Python", "Go"]),
        ("categories/any(c: startswith(c, 'Lang'))", ["Spanish"]),
        ("categories/any()", ["Python", "Go", "Public speaking", "Spanish"]),
        ("categories/all(c: c eq 'Programming')", ["Go", "O'Reilly editing"]),
        ("collaborationTags/any(t: t eq 'askMeAbout')", ["Python"]),
        (
            "createdDateTime ge 2024-01-01T00:00:00Z",
            ["Public speaking", "Spanish", "O'Reilly editing"],
        ),
        ("createdDateTime lt 2023-06-01T00:00:00Z", ["Python"]),
        (
            "createdDateTime gt 2023-12-31T23:00:00-02:00",
            ["Spanish", "O'Reilly editing"],
        ),
        ("createdDateTime eq 2023-06-01T00:00:00.0000000Z", ["Go"]),
        (
            "2024-01-01T00:00:00Z le createdDateTime",
            ["Public speaking", "Spanish", "O'Reilly editing"],
        ),
        ("allowedAudiences eq 'family,organization'", ["Go"]),
        (
            "allowedAudiences ne 'organization'",
            ["Go", "Public speaking", "Spanish", "O'Reilly editing"],
        ),
        ("isSearchable eq true", ["Python"]),
        ("isSearchable", ["Python"]),
        ("isSearchable eq false", ["Public speaking"]),
        ("inference/confidenceScore gt 0.5", ["Python"]),
        ("inference/userHasVerifiedAccuracy eq true", ["Python"]),
        ("createdBy/user/displayName eq 'Adele Vance'", ALL),
        ("createdBy/application/id eq null", ALL),
        (f"id eq '{PYTHON_ID}'", ["Python"]),
        (f"id eq {PYTHON_ID}", ["Python"]),
        (
            "not (proficiency eq 'expert')",
            ["Go", "Public speaking", "Spanish", "O'Reilly editing"],
        ),
        ("not isSearchable", ["Go", "Public speaking", "Spanish", "O'Reilly editing"]),
        (
            "(proficiency eq 'expert' or proficiency eq 'elementary') and startswith(displayName,'S')",
            ["Spanish"],
        ),
        (
            "proficiency eq 'expert' or displayName eq 'Go' and webUrl eq null",
            ["Python", "Go"],
        ),
        ("proficiency eq 'expert' and displayName eq 'Go'", []),
        ("true", ALL),
        ("false", []),
        ("  isSearchable eq true  ", ["Python"]),
        ("\tproficiency eq 'expert'\n", ["Python"]),
        (" or ".join(["displayName eq 'x'"] * 150 + ["displayName eq 'go'"]), ["Go"]),
        ("isSearchable and " * 150 + "true", ["Python"]),
    ],
)
def test_filter_selects(team, text, expected):
    assert names(team, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("proficiency eq 'expert'", "1"),
        ("categories/any(c: c eq 'Programming')", "2"),
        ("createdDateTime ge 2024-01-01T00:00:00Z", "3"),
        (" proficiency eq 'expert' ", "1"),
        (" or ".join(["displayName eq 'x'"] * 150 + ["displayName eq 'go'"]), "1"),
    ],
)
def test_filter_on_count(team, text, expected):
    response = team.get("/$count", filter=text)

    assert response.status_code == 200
    assert response.get_data(as_text=True) == expected


def test_filter_as_sdk_encodes_it(team):
    response = team.client.get(
        team.url()
        + "?$filter=proficiency%20eq%20%27expert%27&$orderby=displayName%20desc&$top=5",
        headers={"Authorization": "Bearer t"},
    )

    assert [skill["displayName"] for skill in response.get_json()["value"]] == [
        "Python"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "allowedAudiences eq 'me'",
        "categories/any(all: all eq 'Data')",
        "categories/any(nullish: nullish eq null)",
    ],
)
def test_filter_keywords_inside_names(team, text):
    assert team.get(filter=text).status_code == 200


# Alternating or and and, nested 150 levels deep: a or (a and (a or (...))).
ALTERNATING = (
    "".join(f"isSearchable {'and' if i % 2 else 'or'} (" for i in range(150))
    + "true"
    + ")" * 150
)


@pytest.mark.parametrize(
    ("text", "code", "quoted"),
    [
        ("length(displayName) gt 3", "notSupported", "length(displayName)"),
        ("tolower(displayName) eq 'go'", "notSupported", "tolower(displayName)"),
        ("displayName add 1 eq 2", "notSupported", "'displayName add 1'"),
        ("displayName eq webUrl", "notSupported", "displayName eq webUrl"),
        ("isSearchable gt true", "notSupported", "isSearchable gt true"),
        ("allowedAudiences gt 'me'", "notSupported", "allowedAudiences gt 'me'"),
        ("startswith(displayName, 5)", "notSupported", "startswith(displayName, 5)"),
        ("categories in ('x', 'y')", "notSupported", "categories in ('x', 'y')"),
        ("foo eq 'x'", "BadRequest", "'foo'"),
        ("x/any(c: c eq 'a')", "BadRequest", "'x'"),
        ("proficiency eq 'guru'", "BadRequest", "'guru'"),
        ("proficiency eq 5", "BadRequest", "proficiency eq 5"),
        ("createdDateTime gt '2024-01-01'", "BadRequest", "without quotes"),
        ("createdDateTime gt 2024-01-01", "BadRequest", "2024-01-01"),
        ("createdDateTime gt 2024-01-01T00:00:00", "BadRequest", "without an offset"),
        (
            "createdDateTime gt 2024-02-30T00:00:00Z",
            "BadRequest",
            "day is out of range",
        ),
        ("createdDateTime gt 2024-01-01T25:00:00Z", "BadRequest", "T25:00:00Z"),
        ("categories eq 'Data'", "BadRequest", "categories/any(x: x eq 'value')"),
        ("categories/any(c: c eq 1)", "BadRequest", "c eq 1"),
        ("displayName/any(c: c eq 'x')", "BadRequest", "displayName/any"),
        ("startswith(proficiency,'ex')", "BadRequest", "needs a string property"),
        ("allowedAudiences eq 'friends'", "BadRequest", "'friends'"),
        ("displayName", "BadRequest", "not a condition"),
        ("displayName eq", "BadRequest", "syntax error"),
        ("displayName has 'x'", "BadRequest", "at offset 11"),
        ("displayName eq 'x", "BadRequest", '"\'x"'),
        ("(displayName eq 'x'", "BadRequest", "ends too early"),
        ("frobnicate(displayName)", "BadRequest", "'frobnicate'"),
        ("createdBy/user/id/any()", "BadRequest", "cannot be parsed"),
        ("  ", "BadRequest", "is empty"),
        ("not " * 150 + "isSearchable", "BadRequest", "more than 100 levels"),
        ("not " * 1000 + "isSearchable eq true", "BadRequest", "more than 100 levels"),
        ("-" * 5000 + "1 eq inference/confidenceScore", "BadRequest", "100 levels"),
        (ALTERNATING, "BadRequest", "more than 100 levels"),
    ],
)
def test_filter_rejected(team, text, code, quoted):
    response = team.get(filter=text)
    error = response.get_json()["error"]

    assert response.status_code == 400
    assert error["code"] == code
    assert error["target"] == "$filter"
    assert quoted in error["message"]


def test_filter_long_text_cut_in_message(team):
    text = " or ".join(["isSearchable"] * 300) + " or"
    message = team.get(filter=text).get_json()["error"]["message"]

    assert text[:200] + "..." in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("length(displayName) gt 3", "notSupported"),
        ("not " * 1000 + "isSearchable eq true", "BadRequest"),
        ("-" * 5000 + "1 eq inference/confidenceScore", "BadRequest"),
    ],
)
def test_filter_rejected_on_count(team, text, code):
    response = team.get("/$count", filter=text)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_filter_parses_once_per_request(team):
    # A filter is compiled per request; two filters in a row do not share parser state.
    first = names(team, "proficiency eq 'expert'")
    broken = team.get(filter="proficiency eq")
    second = names(team, "proficiency eq 'elementary'")

    assert first == ["Python"]
    assert broken.status_code == 400
    assert second == ["Spanish"]


# Random filters built from valid and invalid pieces: each gets 200 or a Graph 400.
PIECES = [
    "displayName",
    "proficiency",
    "categories",
    "createdDateTime",
    "isSearchable",
    "createdBy/user/id",
    "inference/confidenceScore",
    "c",
    "eq",
    "ne",
    "gt",
    "le",
    "in",
    "and",
    "or",
    "not",
    "(",
    ")",
    ",",
    "'x'",
    "'expert'",
    "''",
    "null",
    "true",
    "5",
    "-1.5",
    "2024-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-01-01",
    "startswith(",
    "contains(",
    "length(",
    "/any(c:",
    "/all(c:",
    "add",
    "$",
    "@",
    "'",
]


def test_filter_fuzz_never_fails_server(team):
    generator = random.Random(20240501)
    statuses = set()
    for _ in range(400):
        pieces = generator.choices(PIECES, k=generator.randint(1, 10))
        text = " ".join(pieces).replace(" /", "/")
        response = team.get(filter=text)
        statuses.add(response.status_code)
        assert response.status_code in (200, 400), text
        if response.status_code == 400:
            assert response.get_json()["error"]["target"] == "$filter", text

    assert statuses == {200, 400}
