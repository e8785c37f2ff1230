from __future__ import annotations

import pytest
from faker import Faker

from mockgraph.fakedata import Fabricator, _name_generator


@pytest.mark.parametrize("locale", ["en_US", "de_DE"])
def test_name_generator_matches_faker(locale):
    names = _name_generator(locale)
    faker = Faker(locale)
    for seed in range(300):
        names.seed_instance(seed)
        faker.seed_instance(seed)

        assert names.format("name") == faker.name(), seed


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("adele.vance@contoso.com", "Adele Vance"),
        ("first_last@contoso.com", "First Last"),
    ],
)
def test_identity_from_principal_name(user, expected):
    assert Fabricator(seed=1).identity(user)["displayName"] == expected


def test_identity_same_for_same_seed():
    first = Fabricator(seed=3).identity("42")
    second = Fabricator(seed=3).identity("42")

    assert first == second
    assert first["displayName"]


def test_faker_uses_the_fabricator_locale():
    fake = Fabricator(seed=1, locale="de_DE").faker("part")

    assert fake.locales == ["de_DE"]
