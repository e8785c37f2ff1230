"""Fabricate the values the server sets: ids, timestamps and identities.

With a seed, every generated value of a user's skill is drawn from a generator seeded
by ``(seed, user, n)``, where ``n`` counts that user's requests of one kind. Two fresh
servers fed the same requests therefore respond with the same values, whatever other
users do and whatever else in the process uses :mod:`random` or Faker's shared
generator. Without a seed, ids come from :func:`uuid.uuid4` and never repeat.

Faker is imported when a :class:`Fabricator` is built rather than with this module,
because commands that never generate a value import this module too, and importing
Faker scans its locale folders.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker import Faker
    from faker.generator import Generator

# Namespace of the user ids derived from a user principal name or any non-GUID key.
USER_NAMESPACE = uuid.UUID("5b0f7c1e-7d55-4c1a-9a43-6f0b0c4d2e11")
_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)?"
)


def graph_timestamp(moment: datetime | None = None) -> str:
    """Format a UTC instant the way Graph does: seven fractional digits and ``Z``."""
    moment = moment or datetime.now(timezone.utc)
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "0Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 date-time into an aware datetime, in UTC if it has no offset.

    Graph writes seven fractional digits, which :meth:`datetime.fromisoformat` rejects
    before Python 3.11, so digits past the sixth are dropped first.
    """
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"invalid date-time {text!r}: expected a form such as 2024-01-02T03:04:05Z"
        )

    main, fraction, offset = match.groups()
    fraction = (fraction or "")[:6].ljust(6, "0")
    offset = "+00:00" if offset in (None, "Z", "z") else offset
    moment = datetime.fromisoformat(f"{main[:10]}T{main[11:]}.{fraction}{offset}")
    return moment.astimezone(timezone.utc)


@lru_cache(maxsize=4096)
def user_object_id(user: str) -> str:
    """Return the GUID that stands for ``user``: itself if it is one, else derived."""
    try:
        return str(uuid.UUID(user))
    except ValueError:
        return str(uuid.uuid5(USER_NAMESPACE, user.lower()))


def _derive_seed(*parts: Any) -> int:
    text = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


class Fabricator:
    """Make ids and identities, deterministic under a seed and thread-safe."""

    def __init__(self, seed: int | None = None, locale: str = "en_US") -> None:
        self.seed = seed
        self.locale = locale
        self._names = _name_generator(locale)
        self._lock = threading.Lock()
        self._identity = lru_cache(maxsize=4096)(self._make_identity)

    def rng(self, *parts: Any) -> random.Random:
        """Return a generator seeded from the mock's seed and ``parts``."""
        return random.Random(_derive_seed(self.seed, *parts))

    def skill_id(self, user: str, sequence: int) -> str:
        if self.seed is None:
            return str(uuid.uuid4())

        bits = self.rng("skill-id", user_object_id(user), sequence).getrandbits(128)
        return str(uuid.UUID(int=bits, version=4))

    def identity(self, user: str) -> dict[str, str]:
        """Return ``{"id", "displayName"}`` for ``user``: the same every time."""
        return dict(self._identity(user_object_id(user), user))

    def _make_identity(self, object_id: str, user: str) -> tuple[tuple[str, str], ...]:
        name = self._name_from_principal(user)
        if name is None:
            with self._lock:
                self._names.seed_instance(
                    _derive_seed(self.seed, "user-name", object_id)
                )
                name = self._names.format("name")

        return (("displayName", name), ("id", object_id))

    @staticmethod
    def _name_from_principal(user: str) -> str | None:
        # "adele.vance@contoso.com" reads better as "Adele Vance" than as a random name.
        local, at, _domain = user.partition("@")
        if not at or not local:
            return None

        words = [word for word in local.replace("_", ".").split(".") if word.isalpha()]
        return " ".join(word.capitalize() for word in words) or None

    def faker(self, *parts: Any) -> Faker:
        """Return a private Faker seeded from the mock's seed and ``parts``.

        Each call builds a new instance, so callers on different threads never share
        one generator's state.
        """
        from faker import Faker

        fake = Faker([self.locale])
        seed = _derive_seed(self.seed, *parts) if self.seed is not None else None
        fake.seed_instance(seed)
        return fake

    def identity_set(self, user: str) -> dict[str, Any]:
        return {"application": None, "device": None, "user": self.identity(user)}


def _name_generator(locale: str) -> Generator:
    """Build a Faker generator that has only the person provider of ``locale``.

    ``Faker(locale)`` imports and adds every provider, and names need one.
    :meth:`faker.Factory.create` sets the provider up as it does for ``Faker(locale)``,
    so a seeded ``name()`` returns the same name as ``Faker(locale).name()`` would.
    """
    from faker import Factory

    return Factory.create(locale, providers=["faker.providers.person"])
