"""The schema evolution check: breaking changes fail unless the changelog lists them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gateway.schema_check import (
    accepted_coordinates,
    breaking_changes,
    coordinate_of,
    main,
    unlisted,
)

OLD = """
type Query { course(code: String!): Course, courses: [Course!]!, count: Int }
type Course { code: String! title: String! price: Int! }
enum Status { OPEN CLOSED }
type Mutation { buy(code: String!): Course! status: Status }
"""
NEW = """
type Query { course(code: String!): Course, courses: [Course!]!, count: Int }
type Course { code: String! title: String! description: String }
enum Status { OPEN }
type Mutation { buy(code: String!): Course status: Status }
"""


def test_finds_removed_fields_values_and_nullable_outputs() -> None:
    coordinates = {change.coordinate for change in breaking_changes(OLD, NEW)}
    assert coordinates == {"Course.price", "Status.CLOSED", "Mutation.buy"}
    # An added nullable field is no break.
    assert all("description" not in change.description for change in breaking_changes(OLD, NEW))


def test_only_listed_breaks_pass() -> None:
    changelog = """
## 0.2.0 (2026-01-01)
### Added
- `Course.price` mentioned here does not count
### Breaking
- `Mutation.buy`: nullable now
- `Status.CLOSED`: gone
"""
    assert accepted_coordinates(changelog) == {"Mutation.buy", "Status.CLOSED"}
    missing = unlisted(breaking_changes(OLD, NEW), changelog)
    assert [change.coordinate for change in missing] == ["Course.price"]


def test_coordinates_of_graphql_core_descriptions() -> None:
    assert coordinate_of("Course.price was removed.") == "Course.price"
    assert coordinate_of("CLOSED was removed from enum type Status.") == "Status.CLOSED"
    assert coordinate_of("Course was removed.") == "Course"


def test_the_command_against_a_git_history(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)  # noqa: S607

    git("init", "-q")
    git("config", "user.email", "ci@example.invalid")
    git("config", "user.name", "ci")
    schema, changelog = tmp_path / "schema.graphql", tmp_path / "CHANGELOG.md"
    schema.write_text(OLD)
    changelog.write_text("# changes\n")
    git("add", ".")
    git("commit", "-qm", "old")
    schema.write_text(NEW)
    git("commit", "-qam", "new")
    arguments = ["--schema", str(schema), "--changelog", str(changelog)]
    assert main(arguments) == 1
    changelog.write_text(
        "## 0.2.0\n### Breaking\n- `Course.price`, `Status.CLOSED`, `Mutation.buy`\n"
    )
    assert main(arguments) == 0


def test_the_repository_changelog_lists_every_break_since_the_first_schema(
    repo_root: Path,
) -> None:
    """The committed schema against the one before mutations became nullable."""
    first = subprocess.run(
        ["git", "log", "--reverse", "--format=%H", "--", "schema.graphql"],  # noqa: S607
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if not first:
        return  # not a git checkout (an sdist): nothing to compare
    old = subprocess.run(
        ["git", "show", f"{first[0]}:schema.graphql"],  # noqa: S607
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    new = (repo_root / "schema.graphql").read_text()
    changelog = (repo_root / "CHANGELOG.md").read_text()
    assert unlisted(breaking_changes(old, new), changelog) == []
