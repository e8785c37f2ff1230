"""Fill a user who is first seen with generated, realistic skills.

Each user gets distinct skill names from a catalogue of common professional skills,
with the catalogue's category and reference URL, a proficiency drawn from a spread
that favours the middle levels, and creation times spread over the three years before
:data:`SEED_EPOCH`. A fixed epoch, rather than the current time, keeps seeded skills
identical between runs with the same ``--seed``.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Any

from . import skills
from .fakedata import Fabricator, graph_timestamp
from .store import SkillStore
from .validation import SchemaSet

SEED_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
SEED_SPAN = timedelta(days=3 * 365)

# (name, category, reference URL)
CATALOGUE: tuple[tuple[str, str, str], ...] = (
    ("Python", "Programming languages", "https://www.python.org"),
    ("TypeScript", "Programming languages", "https://www.typescriptlang.org"),
    (
        "JavaScript",
        "Programming languages",
        "https://developer.mozilla.org/docs/Web/JavaScript",
    ),
    ("C#", "Programming languages", "https://learn.microsoft.com/dotnet/csharp/"),
    ("Java", "Programming languages", "https://dev.java"),
    ("Go", "Programming languages", "https://go.dev"),
    ("Rust", "Programming languages", "https://www.rust-lang.org"),
    ("Kotlin", "Programming languages", "https://kotlinlang.org"),
    ("SQL", "Data", "https://en.wikipedia.org/wiki/SQL"),
    ("PostgreSQL", "Data", "https://www.postgresql.org"),
    ("Power BI", "Data", "https://learn.microsoft.com/power-bi/"),
    ("Data modeling", "Data", "https://en.wikipedia.org/wiki/Data_modeling"),
    ("Machine learning", "Data", "https://en.wikipedia.org/wiki/Machine_learning"),
    ("Statistics", "Data", "https://en.wikipedia.org/wiki/Statistics"),
    ("Apache Spark", "Data", "https://spark.apache.org"),
    ("Microsoft Azure", "Cloud", "https://learn.microsoft.com/azure/"),
    ("Amazon Web Services", "Cloud", "https://aws.amazon.com"),
    ("Kubernetes", "Cloud", "https://kubernetes.io"),
    ("Docker", "Cloud", "https://docs.docker.com"),
    ("Terraform", "Cloud", "https://developer.hashicorp.com/terraform"),
    ("Microsoft Entra ID", "Cloud", "https://learn.microsoft.com/entra/identity/"),
    ("React", "Web development", "https://react.dev"),
    ("Angular", "Web development", "https://angular.dev"),
    ("ASP.NET Core", "Web development", "https://learn.microsoft.com/aspnet/core/"),
    ("GraphQL", "Web development", "https://graphql.org"),
    ("REST API design", "Web development", "https://en.wikipedia.org/wiki/REST"),
    ("Accessibility", "Design", "https://www.w3.org/WAI/"),
    ("User research", "Design", "https://en.wikipedia.org/wiki/User_research"),
    ("Figma", "Design", "https://www.figma.com"),
    (
        "Interaction design",
        "Design",
        "https://en.wikipedia.org/wiki/Interaction_design",
    ),
    (
        "Technical writing",
        "Communication",
        "https://en.wikipedia.org/wiki/Technical_writing",
    ),
    (
        "Public speaking",
        "Communication",
        "https://en.wikipedia.org/wiki/Public_speaking",
    ),
    ("Negotiation", "Communication", "https://en.wikipedia.org/wiki/Negotiation"),
    (
        "Project management",
        "Management",
        "https://en.wikipedia.org/wiki/Project_management",
    ),
    ("Scrum", "Management", "https://scrumguides.org"),
    (
        "Stakeholder management",
        "Management",
        "https://en.wikipedia.org/wiki/Stakeholder_management",
    ),
    (
        "People management",
        "Management",
        "https://en.wikipedia.org/wiki/People_management",
    ),
    ("Budgeting", "Finance", "https://en.wikipedia.org/wiki/Budget"),
    (
        "Financial modeling",
        "Finance",
        "https://en.wikipedia.org/wiki/Financial_modeling",
    ),
    ("Excel", "Productivity", "https://support.microsoft.com/excel"),
    ("Microsoft Teams", "Productivity", "https://learn.microsoft.com/microsoftteams/"),
    ("SharePoint", "Productivity", "https://learn.microsoft.com/sharepoint/"),
    ("Threat modeling", "Security", "https://en.wikipedia.org/wiki/Threat_model"),
    (
        "Penetration testing",
        "Security",
        "https://en.wikipedia.org/wiki/Penetration_test",
    ),
    (
        "Incident response",
        "Security",
        "https://en.wikipedia.org/wiki/Incident_management",
    ),
    ("Spanish", "Languages", "https://en.wikipedia.org/wiki/Spanish_language"),
    ("German", "Languages", "https://en.wikipedia.org/wiki/German_language"),
    ("Japanese", "Languages", "https://en.wikipedia.org/wiki/Japanese_language"),
    ("French", "Languages", "https://en.wikipedia.org/wiki/French_language"),
    ("Customer success", "Sales", "https://en.wikipedia.org/wiki/Customer_success"),
)
# Relative weights of the proficiency levels, most often the middle ones. Faker takes
# weights only as an OrderedDict.
PROFICIENCY_WEIGHTS = OrderedDict(
    {
        "elementary": 0.10,
        "limitedWorking": 0.15,
        "generalProfessional": 0.30,
        "advancedProfessional": 0.28,
        "expert": 0.17,
    }
)
AUDIENCE_WEIGHTS = OrderedDict(
    {
        "organization": 0.70,
        "everyone": 0.12,
        "contacts": 0.08,
        "organization,family": 0.05,
        "me": 0.05,
    }
)
COLLABORATION_TAGS = ("askMeAbout", "ableToMentor", "wantsToLearn", "wantsToImprove")


def seed_values(
    fabricator: Fabricator, user_key: str, count: int
) -> list[dict[str, Any]]:
    """Return ``count`` sets of client values for ``user_key``, oldest first.

    Each set also carries ``createdDateTime`` and ``lastModifiedDateTime``. Names are
    distinct; past the catalogue's size they repeat with a number, such as "Python 2".
    """
    fake = fabricator.faker("seed-skills", user_key)
    order = fake.random_sample(range(len(CATALOGUE)), length=len(CATALOGUE))
    created = sorted(
        fake.date_time_between(SEED_EPOCH - SEED_SPAN, SEED_EPOCH, tzinfo=timezone.utc)
        for _ in range(count)
    )
    values = []
    for index in range(count):
        name, category, url = CATALOGUE[order[index % len(CATALOGUE)]]
        round_number = index // len(CATALOGUE) + 1
        if round_number > 1:
            name = f"{name} {round_number}"

        tags = fake.random_sample(COLLABORATION_TAGS, length=fake.random_int(0, 2))
        modified = created[index] + timedelta(days=fake.random_int(0, 60))
        values.append(
            {
                "displayName": name,
                "categories": [category],
                "proficiency": fake.random_element(PROFICIENCY_WEIGHTS),
                "allowedAudiences": fake.random_element(AUDIENCE_WEIGHTS),
                "collaborationTags": list(tags) or None,
                "webUrl": url,
                "createdDateTime": graph_timestamp(created[index]),
                "lastModifiedDateTime": graph_timestamp(min(modified, SEED_EPOCH)),
            }
        )

    return values


def seed_user(
    store: SkillStore,
    schemas: SchemaSet,
    fabricator: Fabricator,
    user_key: str,
    caller: str,
    count: int,
) -> bool:
    """Give ``user_key`` ``count`` generated skills, created by ``caller``, if unseen.

    The skills and the user's seen mark are stored in one step (see
    :meth:`SkillStore.seed`), so a concurrent request reads all of them or, before
    that step, none. Return True if this call seeded the user.
    """

    def build(first: int) -> list[dict[str, Any]]:
        generated = []
        for offset, values in enumerate(seed_values(fabricator, user_key, count)):
            stamps = {
                name: values.pop(name)
                for name in ("createdDateTime", "lastModifiedDateTime")
            }
            skill = skills.new_skill(
                schemas,
                fabricator,
                user_key,
                first + offset,
                caller=caller,
                values=values,
            )
            skill.update(stamps)
            generated.append(skill)

        return generated

    return store.seed(user_key, build)
