from __future__ import annotations

import time

import jwt
import pytest

from mockgraph import Config, create_app
from mockgraph.fakedata import user_object_id
from mockgraph.tokens import make_token

OID = "11111111-2222-3333-4444-555555555555"
SKILLS = "/beta/users/42/profile/skills"
ME = "/beta/me/profile/skills"


@pytest.fixture
def jwt_client():
    return create_app(Config(auth="jwt", seed=1)).test_client()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def unsigned(**claims):
    return jwt.encode(claims, None, algorithm="none")


def delegated(scopes="User.ReadWrite", **claims):
    return make_token(OID, name="Ada Lovelace", scopes=tuple(scopes.split()), **claims)


def send(client, method, path, token, body=None):
    return client.open(path, method=method, headers=bearer(token), json=body)


def error_of(response):
    return response.get_json()["error"]


# 401: not a JWT, or not valid now


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.bm90IGpzb24.",
        # A "crit" header names an extension that PyJWT does not support.
        "eyJhbGciOiJub25lIiwiY3JpdCI6WyJleHAiXX0.eyJvaWQiOiJ4In0.",
    ],
)
def test_not_a_jwt_is_401(jwt_client, token):
    response = jwt_client.get(SKILLS, headers=bearer(token))
    error = error_of(response)

    assert response.status_code == 401
    assert error["code"] == "InvalidAuthenticationToken"
    assert "Access token is not a JWT" in error["message"]
    assert "mockgraph token" in error["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert token not in error["message"]


def test_expired_token_is_401(jwt_client):
    token = make_token(OID, scopes=("User.Read",), expires_in=-120)
    error = error_of(jwt_client.get(SKILLS, headers=bearer(token)))

    assert error["code"] == "InvalidAuthenticationToken"
    assert "the token expired at" in error["message"]
    assert "seconds ago); get a new token." in error["message"]


def test_token_not_yet_valid_is_401(jwt_client):
    token = unsigned(oid=OID, scp="User.Read", nbf=time.time() + 600)
    response = jwt_client.get(SKILLS, headers=bearer(token))

    assert response.status_code == 401
    assert "not valid before" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("claims", "text"),
    [
        (
            {"oid": OID, "scp": "User.Read", "exp": "tomorrow"},
            "claim 'exp' is 'tomorrow'",
        ),
        ({"oid": OID, "scp": ["User.Read"]}, "claim 'scp' is ['User.Read']"),
        ({"oid": OID, "roles": "User.Read.All"}, "claim 'roles' is 'User.Read.All'"),
        ({"scp": "User.Read"}, "no 'oid' claim"),
        ({"oid": 5, "scp": "User.Read"}, "(oid is 5)"),
        ({"oid": OID, "scp": "User.Read", "exp": -1e20}, "claim 'exp' is -1e+20"),
        ({"oid": OID, "scp": "User.Read", "exp": -1e300}, "claim 'exp' is -1e+300"),
        (
            {"oid": OID, "scp": "User.Read", "exp": -(10**400)},
            "claim 'exp' is -1000",
        ),
        ({"oid": OID, "scp": "User.Read", "nbf": 1e20}, "nbf claim (1e+20)"),
        ({"oid": OID, "scp": "User.Read", "nbf": 1e300}, "nbf claim (1e+300)"),
        ({"oid": OID, "scp": "User.Read", "nbf": float("inf")}, "nbf claim (inf)"),
        ({"oid": OID, "scp": "User.Read", "exp": float("nan")}, "claim 'exp' is nan"),
    ],
)
def test_bad_claims_are_401(jwt_client, claims, text):
    response = jwt_client.get(SKILLS, headers=bearer(unsigned(**claims)))

    assert response.status_code == 401
    assert text in error_of(response)["message"]


@pytest.mark.parametrize("exp", [1e300, float("inf")])
def test_far_future_exp_accepted(jwt_client, exp):
    token = unsigned(oid=OID, scp="User.Read", exp=exp)

    assert jwt_client.get(SKILLS, headers=bearer(token)).status_code == 200


def test_missing_token_is_401_before_body_checks(jwt_client):
    response = jwt_client.post(SKILLS, data="x", content_type="text/plain")

    assert response.status_code == 401


def test_any_mode_accepts_non_jwt():
    client = create_app(Config()).test_client()

    assert client.get(SKILLS, headers=bearer("anything")).status_code == 200


# 403: permissions


@pytest.mark.parametrize(
    ("scopes", "method", "path", "status"),
    [
        ("User.Read", "GET", SKILLS, 200),
        ("User.Read", "GET", SKILLS + "/$count", 200),
        ("User.ReadWrite", "GET", SKILLS, 200),
        ("User.Read.All", "GET", SKILLS, 200),
        ("user.read", "GET", SKILLS, 200),
        ("Mail.Read", "GET", SKILLS, 403),
        ("", "GET", SKILLS, 403),
        ("User.ReadWrite", "POST", SKILLS, 201),
        ("User.ReadWrite.All", "POST", SKILLS, 201),
        ("USER.READWRITE", "POST", SKILLS, 201),
        ("User.Read", "POST", SKILLS, 403),
        ("User.Read.All", "POST", SKILLS, 403),
        ("User.Read", "PATCH", SKILLS + "/abc", 403),
        ("User.Read", "DELETE", SKILLS + "/abc", 403),
    ],
)
def test_delegated_scopes(jwt_client, scopes, method, path, status):
    body = {"displayName": "Python"} if method in ("POST", "PATCH") else None
    response = send(jwt_client, method, path, delegated(scopes), body)

    assert response.status_code == status


def test_write_without_scope_names_permission(jwt_client):
    response = send(
        jwt_client, "POST", SKILLS, delegated("User.Read"), {"displayName": "x"}
    )
    error = error_of(response)

    assert error["code"] == "accessDenied"
    assert (
        "POST /beta/users/42/profile/skills needs the delegated permission"
        in error["message"]
    )
    assert "User.ReadWrite or User.ReadWrite.All" in error["message"]
    assert "['User.Read']" in error["message"]


def test_read_without_scope_names_permission(jwt_client):
    error = error_of(send(jwt_client, "GET", SKILLS, delegated("Mail.Read")))

    assert error["code"] == "accessDenied"
    assert "User.Read or User.ReadWrite" in error["message"]


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_app_only_write_is_403(jwt_client, method):
    token = make_token("app", scopes=(), roles=("User.ReadWrite.All",))
    path = SKILLS if method == "POST" else SKILLS + "/abc"
    response = send(
        jwt_client,
        method,
        path,
        token,
        {"displayName": "x"} if method != "DELETE" else None,
    )
    error = error_of(response)

    assert response.status_code == 403
    assert error["code"] == "accessDenied"
    assert "not supported with application permissions" in error["message"]


@pytest.mark.parametrize(
    ("roles", "status"), [(("User.Read.All",), 200), (("Mail.Read",), 403)]
)
def test_app_only_read(jwt_client, roles, status):
    token = make_token("app", scopes=(), roles=roles)

    assert send(jwt_client, "GET", SKILLS, token).status_code == status


def test_app_only_me_is_400(jwt_client):
    token = make_token("app", scopes=(), roles=("User.Read.All",))
    response = send(jwt_client, "GET", ME, token)

    assert response.status_code == 400
    assert "only valid with delegated authentication" in error_of(response)["message"]


# The token names the caller


def test_me_is_token_oid(jwt_client):
    token = delegated()
    created = send(jwt_client, "POST", ME, token, {"displayName": "Python"})
    listed = send(
        jwt_client, "GET", f"/beta/users/{OID}/profile/skills", token
    ).get_json()

    assert created.status_code == 201
    assert [skill["id"] for skill in listed["value"]] == [created.get_json()["id"]]
    assert f"users('{OID}')" in created.get_json()["@odata.context"]


def test_me_from_principal_name_token(jwt_client):
    token = make_token("grace@contoso.com", scopes=("User.ReadWrite",))
    send(jwt_client, "POST", ME, token, {"displayName": "COBOL"})
    listed = send(
        jwt_client, "GET", "/beta/users/grace%40contoso.com/profile/skills", token
    ).get_json()

    assert [skill["displayName"] for skill in listed["value"]] == ["COBOL"]


def test_created_by_is_token_caller(jwt_client):
    body = send(
        jwt_client, "POST", SKILLS, delegated(), {"displayName": "Python"}
    ).get_json()

    assert body["createdBy"]["user"] == {"displayName": "Ada Lovelace", "id": OID}
    assert body["lastModifiedBy"]["user"] == {"displayName": "Ada Lovelace", "id": OID}


def test_last_modified_by_is_token_caller(jwt_client):
    created = send(
        jwt_client, "POST", SKILLS, delegated(), {"displayName": "Python"}
    ).get_json()
    editor = make_token("22222222-2222-2222-2222-222222222222", name="Grace Hopper")
    updated = send(
        jwt_client,
        "PATCH",
        f"{SKILLS}/{created['id']}",
        editor,
        {"proficiency": "expert"},
    ).get_json()

    assert updated["createdBy"]["user"]["displayName"] == "Ada Lovelace"
    assert updated["lastModifiedBy"]["user"] == {
        "displayName": "Grace Hopper",
        "id": "22222222-2222-2222-2222-222222222222",
    }


def test_name_falls_back_to_principal(jwt_client):
    token = unsigned(
        oid=OID, scp="User.ReadWrite", preferred_username="ada@contoso.com"
    )
    body = send(jwt_client, "POST", SKILLS, token, {"displayName": "x"}).get_json()

    assert body["createdBy"]["user"]["displayName"] == "ada@contoso.com"


def test_any_mode_caller_is_path_user():
    client = create_app(Config(seed=1)).test_client()
    body = send(client, "POST", SKILLS, delegated(), {"displayName": "x"}).get_json()

    assert body["createdBy"]["user"]["id"] == user_object_id("42")


@pytest.mark.parametrize("expires_in", [-(10**20), 10**20, 315_360_001])
def test_make_token_rejects_huge_lifetime(expires_in):
    with pytest.raises(ValueError, match=f"got {expires_in}"):
        make_token(OID, expires_in=expires_in)


def test_make_token_accepted_and_unsigned():
    token = make_token("alice@contoso.com", name="Alice")
    header = jwt.get_unverified_header(token)

    assert header["alg"] == "none"
    assert token.endswith(".")
