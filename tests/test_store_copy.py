from __future__ import annotations

from mockgraph.store import MemoryStore, copy_json


def test_copy_json_copies_nested_containers():
    original = {"a": [{"b": 1}], "c": {"d": ["e"]}, "f": None}
    copied = copy_json(original)
    copied["a"][0]["b"] = 2
    copied["c"]["d"].append("g")

    assert copied is not original
    assert original == {"a": [{"b": 1}], "c": {"d": ["e"]}, "f": None}


def test_memory_store_returns_copies():
    store = MemoryStore()
    skill = {"id": "s1", "categories": ["a"]}
    store.insert("u1", skill)
    skill["categories"].append("changed by caller")
    fetched = store.get("u1", "s1")
    assert fetched is not None
    fetched["categories"].append("changed by reader")

    assert store.get("u1", "s1") == {"id": "s1", "categories": ["a"]}
