from __future__ import annotations

import pytest

from mockgraph.store import MemoryStore


def test_insert_copies_skill():
    store = MemoryStore()
    skill = {"id": "s1", "categories": ["a"]}
    store.insert("u1", skill)
    skill["categories"].append("changed by caller")

    assert store.get("u1", "s1") == {"id": "s1", "categories": ["a"]}


def test_get_returns_copy():
    store = MemoryStore()
    store.insert("u1", {"id": "s1", "categories": ["a"]})
    fetched = store.get("u1", "s1")
    assert fetched is not None
    fetched["categories"].append("changed by reader")

    assert store.get("u1", "s1") == {"id": "s1", "categories": ["a"]}


def test_update_result_is_not_stored_object():
    store = MemoryStore()
    store.insert("u1", {"id": "s1", "displayName": "a"})
    updated = store.update("u1", "s1", lambda skill: {**skill, "displayName": "b"})
    assert updated is not None
    updated["displayName"] = "changed after update"

    assert store.get("u1", "s1") == {"id": "s1", "displayName": "b"}


@pytest.mark.parametrize(
    "value",
    ["Prüfung 日本語 🐍", 0.75, 10**30, True, None, [], {"nested": [{"deep": 1}]}],
)
def test_values_round_trip(value):
    store = MemoryStore()
    store.insert("u1", {"id": "s1", "value": value})

    assert store.get("u1", "s1") == {"id": "s1", "value": value}
    assert store.list("u1") == [{"id": "s1", "value": value}]
    assert store.dump() == {"u1": [{"id": "s1", "value": value}]}
