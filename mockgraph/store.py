"""Where the skills live: one interface, kept in memory by default.

Skills are kept per user key (see :func:`mockgraph.fakedata.user_object_id`), in the
order they were created. Every method of both stores is atomic, so concurrent requests
never lose or duplicate a skill.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from typing import Any

Skill = dict[str, Any]


class SkillExistsError(KeyError):
    """Raised by :meth:`SkillStore.insert` when the user already has a skill with that id."""


def _encode(skill: Skill) -> str:
    return json.dumps(skill, ensure_ascii=False, separators=(",", ":"))


class SkillStore(ABC):
    """Storage of skills by user, plus per-user counters for deterministic values."""

    @abstractmethod
    def next_sequence(self, user: str, kind: str) -> int:
        """Count one more ``kind`` for ``user``; return the previous count."""

    def set_sequence(self, user: str, kind: str, value: int) -> None:
        """Set ``user``'s ``kind`` count to ``value``, which the next call returns.

        This default calls :meth:`next_sequence` until the count reaches ``value``, so
        it never lowers a count and takes time in proportion to ``value``. Both stores
        override it with a single write.
        """
        while value > 0 and self.next_sequence(user, kind) < value - 1:
            pass

    @abstractmethod
    def mark_seen(self, user: str) -> bool:
        """Record that ``user`` was seen; return True only the first time."""

    def seed(self, user: str, build: Callable[[int], list[Skill]]) -> bool:
        """Give ``user`` the skills ``build(first)`` returns, unless ``user`` was seen.

        ``first`` is the user's create count, and the count grows by one per skill.
        The user is marked seen in the same step, so no reader sees part of the skills
        and only one of several concurrent calls builds any. ``build`` must not call
        the store. Return True if this call seeded the user.

        This default is not atomic: a concurrent reader may see part of the skills.
        Both stores override it.
        """
        if not self.mark_seen(user):
            return False

        first = self.next_sequence(user, "create")
        built = build(first)
        self.set_sequence(user, "create", first + len(built))
        for skill in built:
            self.insert(user, skill)

        return True

    def create(
        self,
        user: str,
        build: Callable[[int], Skill],
        attempts: int,
        counted: bool = True,
    ) -> Skill | None:
        """Count one more create for ``user`` and insert ``build(previous count)``.

        A skill loaded from a file can have any id. A built skill whose ``id`` the
        user already has is dropped and the next count is tried, up to ``attempts``
        times. Return the inserted skill, or None if every attempt drew a taken id.
        ``build`` must not call the store. With ``counted`` false the count is neither
        read nor raised and ``build`` gets 0, for ids that do not depend on it.

        This default makes two store calls per attempt. Both stores override it with
        cheaper steps.
        """
        for _attempt in range(attempts):
            skill = build(self.next_sequence(user, "create") if counted else 0)
            try:
                self.insert(user, skill)
            except SkillExistsError:
                continue

            return skill

        return None

    @abstractmethod
    def insert(self, user: str, skill: Skill) -> None:
        """Add a new skill; raise :class:`SkillExistsError` if the user has its ``id``."""

    @abstractmethod
    def get(self, user: str, skill_id: str) -> Skill | None:
        """Return a copy of the skill, or None if ``user`` has no such skill."""

    @abstractmethod
    def list(self, user: str) -> list[Skill]:
        """Return copies of a user's skills in creation order."""

    @abstractmethod
    def update(
        self, user: str, skill_id: str, change: Callable[[Skill], Skill]
    ) -> Skill | None:
        """Replace a skill by ``change(current)`` atomically; None if it is missing."""

    @abstractmethod
    def delete(self, user: str, skill_id: str) -> bool:
        """Remove a skill; return False if it did not exist."""

    @abstractmethod
    def dump(self) -> dict[str, list[Skill]]:
        """Return every user's skills, keyed by user."""

    @abstractmethod
    def load(self, skills: dict[str, list[Skill]]) -> None:
        """Replace all skills and counters with ``skills``."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every skill, counter and seen user."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release resources; the in-memory store has none."""


class MemoryStore(SkillStore):
    """A store in process memory, guarded by one lock.

    Each skill is kept as its JSON text, which is also how every call copies it in and
    out. The text takes about half the memory of the same skill as dicts and lists
    (bench/memory.py measures it), and the garbage collector does not traverse
    strings, so a large store adds almost no work to each full collection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._skills: dict[str, dict[str, str]] = defaultdict(dict)
        self._sequences: dict[tuple[str, str], int] = defaultdict(int)
        self._seen: set[str] = set()

    def next_sequence(self, user: str, kind: str) -> int:
        with self._lock:
            value = self._sequences[(user, kind)]
            self._sequences[(user, kind)] = value + 1
            return value

    def set_sequence(self, user: str, kind: str, value: int) -> None:
        with self._lock:
            self._sequences[(user, kind)] = value

    def mark_seen(self, user: str) -> bool:
        with self._lock:
            if user in self._seen:
                return False

            self._seen.add(user)
            return True

    def seed(self, user: str, build: Callable[[int], list[Skill]]) -> bool:
        with self._lock:
            if user in self._seen:
                return False

            first = self._sequences[(user, "create")]
            built = {skill["id"]: _encode(skill) for skill in build(first)}
            skills = self._skills[user]
            for skill_id in built:
                if skill_id in skills:
                    raise SkillExistsError(
                        f"skill {skill_id!r} already exists for user {user!r}"
                    )

            skills.update(built)
            self._sequences[(user, "create")] = first + len(built)
            self._seen.add(user)
            return True

    def create(
        self,
        user: str,
        build: Callable[[int], Skill],
        attempts: int,
        counted: bool = True,
    ) -> Skill | None:
        with self._lock:
            skills = self._skills[user]
            for _attempt in range(attempts):
                sequence = 0
                if counted:
                    sequence = self._sequences[(user, "create")]
                    self._sequences[(user, "create")] = sequence + 1

                skill = build(sequence)
                if skill["id"] not in skills:
                    skills[skill["id"]] = _encode(skill)
                    return skill

            return None

    def insert(self, user: str, skill: Skill) -> None:
        with self._lock:
            skills = self._skills[user]
            if skill["id"] in skills:
                raise SkillExistsError(
                    f"skill {skill['id']!r} already exists for user {user!r}"
                )

            skills[skill["id"]] = _encode(skill)

    def get(self, user: str, skill_id: str) -> Skill | None:
        with self._lock:
            text = self._skills.get(user, {}).get(skill_id)
            return json.loads(text) if text is not None else None

    def list(self, user: str) -> list[Skill]:
        with self._lock:
            return [json.loads(text) for text in self._skills.get(user, {}).values()]

    def update(
        self, user: str, skill_id: str, change: Callable[[Skill], Skill]
    ) -> Skill | None:
        with self._lock:
            skills = self._skills.get(user, {})
            if skill_id not in skills:
                return None

            updated = change(json.loads(skills[skill_id]))
            skills[skill_id] = _encode(updated)
            return updated

    def delete(self, user: str, skill_id: str) -> bool:
        with self._lock:
            return self._skills.get(user, {}).pop(skill_id, None) is not None

    def dump(self) -> dict[str, list[Skill]]:
        with self._lock:
            return {
                user: [json.loads(text) for text in skills.values()]
                for user, skills in self._skills.items()
                if skills
            }

    def load(self, skills: dict[str, list[Skill]]) -> None:
        with self._lock:
            self._skills.clear()
            self._sequences.clear()
            self._seen = set(skills)
            for user, items in skills.items():
                self._skills[user] = {item["id"]: _encode(item) for item in items}

    def clear(self) -> None:
        with self._lock:
            self._skills.clear()
            self._sequences.clear()
            self._seen.clear()


def open_store(spec: str) -> SkillStore:
    """Open the store that ``spec`` names: ``"memory"`` or ``"sqlite:///path.db"``."""
    if spec == "memory":
        return MemoryStore()

    from .sqlite_store import SQLiteStore

    return SQLiteStore.from_url(spec)
