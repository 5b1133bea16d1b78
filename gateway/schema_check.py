"""CI's schema evolution check: a breaking change fails unless ``CHANGELOG.md`` lists it.

The committed ``schema.graphql`` (CI checks separately that it equals the code's) is compared
with the one at the last release tag, or else at the previous commit, using graphql-core's
``find_breaking_changes``. A breaking change is accepted when its schema coordinate
(``Mutation.startPurchase``, ``Course``, ``ErrorCode.OLD_VALUE``) appears in backticks in a
``### Breaking`` section of the changelog. Dangerous changes (an added enum value, an
argument's new default) are printed, never fatal.

    python -m gateway.schema_check [--base REF] [--schema schema.graphql] [--changelog CHANGELOG.md]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

_COORDINATE = re.compile(r"\b([_A-Za-z]\w*\.[_A-Za-z]\w*)\b")
_ENUM_VALUE = re.compile(r"^(\w+) was removed from enum type (\w+)")
_TYPE = re.compile(r"^(\w+) (?:was removed|changed from)")
_BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Change:
    coordinate: str
    description: str


def coordinate_of(description: str) -> str:
    """The schema coordinate a graphql-core change description is about."""
    if found := _ENUM_VALUE.match(description):
        return f"{found.group(2)}.{found.group(1)}"
    if found := _COORDINATE.search(description):
        return found.group(1)
    if found := _TYPE.match(description):
        return found.group(1)
    return description.split(" ", 1)[0]


def breaking_changes(old_sdl: str, new_sdl: str) -> list[Change]:
    changes = find_breaking_changes(build_schema(old_sdl), build_schema(new_sdl))
    return [Change(coordinate_of(change.description), change.description) for change in changes]


def dangerous_changes(old_sdl: str, new_sdl: str) -> list[str]:
    changes = find_dangerous_changes(build_schema(old_sdl), build_schema(new_sdl))
    return [change.description for change in changes]


def accepted_coordinates(changelog: str) -> set[str]:
    """Backticked coordinates in every ``### Breaking`` section of the changelog."""
    accepted: set[str] = set()
    in_breaking = False
    for line in changelog.splitlines():
        if line.startswith("#"):
            in_breaking = line.lstrip("#").strip().lower().startswith("breaking")
            continue
        if in_breaking:
            accepted.update(_BACKTICKED.findall(line))
    return accepted


def unlisted(changes: Sequence[Change], changelog: str) -> list[Change]:
    accepted = accepted_coordinates(changelog)
    return [change for change in changes if change.coordinate not in accepted]


def base_reference(repository: Path) -> str | None:
    """The last release tag (``v*``) before HEAD, else the previous commit, else none."""
    tag = _git(repository, "describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD~1")
    if tag:
        return tag
    return "HEAD~1" if _git(repository, "rev-parse", "--verify", "--quiet", "HEAD~1") else None


def _git(repository: Path, *args: str) -> str | None:
    done = subprocess.run(  # noqa: S603
        ["git", *args],  # noqa: S607
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.schema_check")
    parser.add_argument("--base", help="git revision to compare with (default: last tag/HEAD~1)")
    parser.add_argument("--schema", default="schema.graphql")
    parser.add_argument("--changelog", default="CHANGELOG.md")
    args = parser.parse_args(argv)
    repository = Path(args.schema).resolve().parent
    base = args.base or base_reference(repository)
    old_sdl = _git(repository, "show", f"{base}:{Path(args.schema).name}") if base else None
    if old_sdl is None:
        print(
            f"schema check: no schema.graphql at {base or 'any earlier commit'}; nothing to compare"
        )
        return 0
    new_sdl = Path(args.schema).read_text()
    changelog_path = Path(args.changelog)
    changelog = changelog_path.read_text() if changelog_path.exists() else ""
    for description in dangerous_changes(old_sdl, new_sdl):
        print(f"schema check: dangerous (allowed): {description}")
    changes = breaking_changes(old_sdl, new_sdl)
    missing = unlisted(changes, changelog)
    for change in changes:
        status = "NOT IN CHANGELOG" if change in missing else "listed"
        print(f"schema check: breaking ({status}): {change.description}")
    if missing:
        print(
            f"schema check: {len(missing)} breaking change(s) against {base} are not listed in "
            f"{changelog_path.name}: add each coordinate in backticks under the version's "
            "'### Breaking' heading (or deprecate with @deprecated(reason:) instead of removing)",
            file=sys.stderr,
        )
        return 1
    print(f"schema check: against {base}: {len(changes)} breaking change(s), all listed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
