"""Knowledge on the server: votes, drafts from solved cases, and who may publish."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from agent_desktop.sync.client import SyncClient
from agent_desktop.sync.protocol import Mutation
from server_stub.__main__ import prepare, seed
from server_stub.app import create_app
from server_stub.embedded import EmbeddedServer

NOW = "2026-11-20T10:00:00+00:00"


def _client(server: EmbeddedServer, username: str) -> SyncClient:
    client = SyncClient(server.url, uuid.uuid4().hex)
    client.login(username, "demo")
    return client


def _push(client: SyncClient, *items: tuple[str, dict[str, object]]) -> list[tuple[str, str]]:
    answer = client.push([Mutation(mutation_id=i + 1, id=uuid.uuid4().hex, name=name, args=args)
                          for i, (name, args) in enumerate(items)])
    return [(r.status, r.code) for r in answer.results]


def test_votes_drafts_and_publishing(demo_store_template: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    prepare(url, seed_demo_users=True)
    seed(url, str(demo_store_template), None)
    conn = sqlite3.connect(demo_store_template)
    article = conn.execute("SELECT id FROM knowledge_articles LIMIT 1").fetchone()[0]
    conn.close()
    agent_draft, supervisor_draft = uuid.uuid4().hex, uuid.uuid4().hex
    draft = {"title": "Modem blinks orange after the storm", "product": "internet",
             "body_md": "1. Unplug the modem for 30 seconds.\n2. Check the coax.",
             "tags": ["modem", "outage"], "created_at": NOW}
    with EmbeddedServer(create_app(url)) as server:
        agent, supervisor = _client(server, "agent"), _client(server, "supervisor")
        try:
            assert _push(
                agent,
                ("vote_article", {"id": uuid.uuid4().hex, "article_id": article,
                                  "helpful": True, "created_at": NOW}),
                ("vote_article", {"id": uuid.uuid4().hex, "article_id": article,
                                  "helpful": "yes", "created_at": NOW}),
                ("draft_article", {"id": agent_draft, "code": "KB-D-001", **draft}),
                ("draft_article", {"id": uuid.uuid4().hex, "code": "KB-D-002",
                                   **draft, "body_md": "short"}),
                ("publish_article", {"article_id": agent_draft}),
            ) == [("applied", ""), ("rejected", "invalid"), ("applied", ""),
                  ("rejected", "invalid"), ("rejected", "forbidden")]
            assert _push(
                supervisor,
                ("draft_article", {"id": supervisor_draft, "code": "KB-D-003", **draft}),
                ("publish_article", {"article_id": supervisor_draft}),
                ("publish_article", {"article_id": agent_draft}),
                ("publish_article", {"article_id": agent_draft}),
            ) == [("applied", ""), ("rejected", "forbidden"), ("applied", ""),
                  ("rejected", "invalid")]
            rows, cursor = {}, None
            while True:
                page = supervisor.pull(cursor)
                rows |= {c.id: c.row for c in page.changes if c.table == "knowledge_articles"}
                cursor = page.cursor
                if not page.more:
                    break
            assert rows[agent_draft]["status"] == "published"
            assert rows[supervisor_draft]["status"] == "draft"
        finally:
            agent.close()
            supervisor.close()
