"""The analysts' Cypher console runs reads of the twin graph and nothing else, decided from the plan.

Attacks that worked before: LOAD CSV of /etc/passwd behind a comment, an http:// URL that made
the server fetch it, SHOW/TERMINATE TRANSACTIONS on other sessions, property access that read
every password hash.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import neo4j
import pytest

from tests.integration.conftest import GraphQLClient

CYPHER = "query($q: String!, $p: JSON) { cypher(query: $q, params: $p) { columns rows truncated } }"


def _run(gql: GraphQLClient, token: str, query: str, params: dict | None = None) -> dict:
    return gql(CYPHER, {"q": query, "p": params or {}}, token)


def _refused(body: dict) -> bool:
    return body.get("data") is None and {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}


@pytest.fixture()
def listener() -> Iterator[dict[str, int]]:
    """A local HTTP server that counts the requests it gets (the server must never call it)."""
    hits = {"count": 0}

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits["count"] += 1
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"a,b\n1,2\n")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hits["port"] = server.server_address[1]
    yield hits
    server.shutdown()


FILE_AND_NETWORK = [
    "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "LOAD /* a comment between keywords */ CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "load\ncsv from 'file:///etc/passwd' as line return line",
    "LOAD CSV WITH HEADERS FROM 'file:///etc/hostname' AS row RETURN row",
    "WITH 'file:///etc/passwd' AS u LOAD CSV FROM u AS line RETURN line",
    "LOAD CSV FROM 'http://127.0.0.1:{port}/x.csv' AS line RETURN line",
    "LOAD CSV FROM 'http://[::1]:{port}/x.csv' AS line RETURN line",
    "CALL { LOAD CSV FROM 'http://127.0.0.1:{port}/y.csv' AS line RETURN line } RETURN line",
]


@pytest.mark.parametrize("query", FILE_AND_NETWORK)
def test_no_file_or_url_is_ever_loaded(gql: GraphQLClient, tokens: dict[str, str], listener: dict[str, int],
                                       query: str) -> None:
    body = _run(gql, tokens["analyst"], query.replace("{port}", str(listener["port"])))
    assert _refused(body), body
    assert "root:" not in json.dumps(body)
    assert listener["count"] == 0


def test_the_server_itself_refuses_file_and_url_loading(neo4j_driver: neo4j.Driver, listener: dict[str, int]) -> None:
    """Defence in depth: even our own privileged connection cannot (server settings, not the console)."""
    for url in ("file:///etc/passwd", f"http://127.0.0.1:{listener['port']}/z.csv"):
        with pytest.raises(neo4j.exceptions.ClientError, match="allow_csv_import_from_file_urls|blocked"):
            neo4j_driver.execute_query(f"LOAD CSV FROM '{url}' AS line RETURN line LIMIT 1")
    assert listener["count"] == 0


@pytest.mark.parametrize("query", [
    "SHOW TRANSACTIONS",
    "SHOW TRANSACTIONS YIELD currentQuery, parameters RETURN currentQuery, parameters",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "SHOW PROCEDURES", "SHOW FUNCTIONS", "SHOW SETTINGS", "SHOW USERS", "SHOW DATABASES", "SHOW INDEXES",
    "CALL dbms.listConfig()", "CALL dbms.components()", "CALL db.info()", "CALL dbms.killQueries(['1'])",
    "CALL db.createLabel('X')", "CALL { MATCH (n) RETURN n } IN TRANSACTIONS RETURN n",
    "CREATE (n:Twin {id: 'console-write'})", "MATCH (n:Twin) SET n.hacked = true",
    "MATCH (n:Twin {id: 'none'}) DETACH DELETE n", "CREATE INDEX hacked IF NOT EXISTS FOR (n:Twin) ON (n.hacked)",
    "USE system SHOW USERS",
])
def test_administration_writes_and_other_procedures_are_refused(gql: GraphQLClient, tokens: dict[str, str],
                                                                query: str) -> None:
    assert _refused(_run(gql, tokens["analyst"], query))


@pytest.mark.parametrize("query", [
    "MATCH (t:Twin) RETURN count(t) AS n",
    "CALL db.labels() YIELD label RETURN label",
    "CALL db.schema.visualization()",
    "MATCH p = (a:Twin)-[:FEEDS_TO*1..3]->(b) RETURN p LIMIT 5",
    "MATCH (a:Twin) WHERE EXISTS { (a)-[:FEEDS_TO]->() } RETURN a.id ORDER BY a.id LIMIT 3",
    "UNWIND range(1, 5) AS x RETURN x, x * x AS square",
])
def test_ordinary_reads_still_run(gql: GraphQLClient, tokens: dict[str, str], query: str) -> None:
    body = _run(gql, tokens["analyst"], query)
    assert "errors" not in body, body


HASH_HUNTS = [
    "MATCH (c:Credential) RETURN c",
    "MATCH (c:Credential) RETURN c.sealedHash, c.passwordHash",
    "MATCH (c) WHERE 'Credential' IN labels(c) RETURN properties(c) AS p",
    "MATCH (n) RETURN n, properties(n), keys(n)",
    "MATCH (n) RETURN n {.*} AS everything",
    "MATCH (n) UNWIND keys(n) AS k RETURN k, n[k] AS v",
    "MATCH (u:Twin)-[r]->(c) RETURN u, r, c",
    "MATCH p = (u)-[:HAS_CREDENTIAL]->(c) RETURN p",
    "MATCH (n) RETURN [k IN keys(n) | toString(n[k])] AS values",
    "MATCH (n) WITH n, [k IN keys(n) WHERE k CONTAINS 'ash'] AS ks RETURN [k IN ks | n[k]]",
    "MATCH (n) RETURN apoc.convert.toJson(n)",
    "MATCH (c:`Cred` + `ential`) RETURN c",
]


def test_no_console_query_reaches_a_password_hash(gql: GraphQLClient, tokens: dict[str, str],
                                                  neo4j_driver: neo4j.Driver) -> None:
    stored, _, _ = neo4j_driver.execute_query("MATCH (c:Credential) RETURN c.sealedHash AS sealed")
    assert stored and all(r["sealed"] and r["sealed"].startswith("v1:") for r in stored)
    everything = json.dumps([_run(gql, tokens["analyst"], query) for query in HASH_HUNTS])
    assert "$argon2" not in everything  # what reaches the console is sealed, never a hash
    legacy, _, _ = neo4j_driver.execute_query("MATCH (c:Credential) WHERE c.passwordHash IS NOT NULL "
                                              "RETURN count(c) AS n")
    assert legacy[0]["n"] == 0  # no hash in the clear anywhere in the database
