"""Resume a saved conversation and fork a live one, on the embedded server (real loopback):
the new conversation holds the same items with the same ids, in the new server session too."""

from __future__ import annotations

import pytest
from pandas.testing import assert_frame_equal

import realtime_nb as rnb
from realtime_nb.server import EmbeddedServer


def ids(items):
    return [i.id for i in items]


def server_ids(srv, index=-1):
    return [item["id"] for item in srv.conversations()[index]]


def test_resume_continues_a_saved_conversation(tmp_path):
    with EmbeddedServer() as srv:
        conv = rnb.connect(url=srv.url, timeout=10)
        conv.update_session(instructions="Answer briefly.")
        conv.create(role="system", text="Be kind.", previous_item_id="root")
        conv.create("What is a conversation item?")
        conv.respond()
        path = conv.save(tmp_path / "saved.jsonl")
        conv.close()
        loaded = rnb.load(path)
        saved = ids(loaded.items)

        resumed = loaded.resume(url=srv.url, timeout=10)
        try:
            assert resumed.status == "open" and ids(resumed.items) == saved
            assert server_ids(srv) == saved  # replayed into the new server session
            config = [e for e in resumed.log if e["direction"] == "out"
                      and e["type"] == "session.update"][-1]
            assert config["payload"]["session"]["instructions"] == "Answer briefly."
            new = resumed.create("And a response?")
            answer = resumed.respond()
            assert ids(resumed.items) == [*saved, new.id, *ids(answer.items)]
            assert server_ids(srv) == ids(resumed.items)
            history = resumed.df.loc[saved]  # the saved rows, as they were
            assert_frame_equal(history[["text", "created_at", "done_at", "response_id"]],
                               loaded.df[["text", "created_at", "done_at", "response_id"]])
            assert len(resumed.events) > len(loaded.events)
            assert resumed.errors == []
        finally:
            resumed.close()
        assert loaded.status == "closed" and ids(loaded.items) == saved  # untouched


def test_fork_branches_at_an_item_and_leaves_the_original_alone():
    with EmbeddedServer() as srv:
        conv = rnb.connect(url=srv.url, timeout=10)
        try:
            a = conv.create("I like tea.")
            conv.respond()
            b = conv.create("What should I drink?")
            first = conv.respond()
            before = ids(conv.items)
            fork = conv.fork(at=b.id)
            try:
                assert ids(fork.items) == before[: before.index(b.id) + 1]
                assert srv.connection_count() == 2
                fork.delete(b.id)
                other = fork.create("What if I liked coffee?")
                answer = fork.respond()
                assert answer.text.startswith('You said: "What if I liked coffee?"')
                assert ids(fork.items)[:2] == before[:2] and other.id in ids(fork.items)
                assert ids(conv.items) == before  # the original keeps its own
                assert conv.item(first.items[0].id).text == first.text
                assert set(fork.df.index) & set(conv.df.index) >= {a.id}  # rows line up by id
                assert fork.errors == [] and conv.errors == []
            finally:
                fork.close()
        finally:
            conv.close()


def test_branches_keep_the_configuration_and_the_registered_tools():
    with EmbeddedServer() as srv:
        conv = rnb.connect(url=srv.url, timeout=10)
        try:
            conv.update_session(instructions="Answer in one word.")
            ran: list[str] = []

            @conv.tool
            def get_weather(city: str) -> str:
                """The weather in a city."""
                ran.append(city)
                return "sunny"

            first = conv.create("hello")
            fork = conv.fork(at=first.id)
            try:
                assert "get_weather" in fork.tools
                sent = [e["payload"]["session"] for e in fork.log
                        if e["direction"] == "out" and e["type"] == "session.update"]
                assert any(s.get("instructions") == "Answer in one word." for s in sent)
                fork.create('Use get_weather for "Oslo".')
                fork.respond()
                assert fork.wait_tools(timeout=10) is not None and ran == ["Oslo"]
            finally:
                fork.close()
        finally:
            conv.close()


def test_fork_at_an_unknown_item_says_so(conv):
    conv.create("hello")
    with pytest.raises(KeyError, match="item_nope"):
        conv.fork(at="item_nope")
