"""Every GraphQL document in the docs' code blocks is valid against the committed schema.

The documents come from ```graphql blocks, from gql`...` templates in JavaScript blocks, from
the ``"query": "..."`` bodies of the curl blocks (``\\$`` there is a GraphQL variable), and
from the Python quickstarts' module-level strings.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
GQL = re.compile(r"(?:gql`|graphql\(`)(.*?)`", re.S)
CURL_QUERY = re.compile(r'"query": "((?:[^"\\]|\\.)*)"')


def _documents() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for page in sorted(DOCS.rglob("*.md")):
        for language, body in BLOCK.findall(page.read_text()):
            where = page.relative_to(ROOT).as_posix()
            if language == "graphql":
                found.append((where, body))
            elif language in ("js", "ts", "javascript", "typescript"):
                found += [(where, text) for text in GQL.findall(body)]
            elif language in ("sh", "bash", "shell"):
                for literal in CURL_QUERY.findall(body):
                    found.append((where, json.loads('"' + literal.replace("\\$", "$") + '"')))
    for script in sorted(DOCS.rglob("*.py")):
        for node in ast.parse(script.read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                text = node.value.value
                if isinstance(text, str) and re.match(r"\s*(query|mutation)\b", text):
                    found.append((script.relative_to(ROOT).as_posix(), text))
    return found


DOCUMENTS = _documents()


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema((ROOT / "schema.graphql").read_text())


def test_the_docs_hold_documents_for_every_partner_type() -> None:
    # Guards the extraction itself: a changed fence or quoting must not silently skip all.
    where = {path for path, _ in DOCUMENTS}
    assert "docs/quickstarts.md" in where
    assert len([p for p in where if p.startswith("docs/quickstarts/")]) == 4
    assert len(DOCUMENTS) >= 40


@pytest.mark.parametrize(
    ("where", "document"), DOCUMENTS, ids=[f"{w}#{i}" for i, (w, _) in enumerate(DOCUMENTS)]
)
def test_document_is_valid_against_the_schema(
    schema: GraphQLSchema, where: str, document: str
) -> None:
    errors = validate(schema, parse(document))
    assert not errors, f"{where}: {[error.message for error in errors]}\n{document}"
