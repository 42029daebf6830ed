"""Widget traffic: bytes sent to the front end per new item and per text delta, as the
conversation grows (100, 1,000 and 10,000 items), against the JSON size of the item.

The conversation is fed through a real :class:`~realtime_nb.session.Session` (``offline()``,
frames handed to ``Connection.receive`` exactly as the socket would: parse, log, model, ``conv.df``
listener, widget listener), so every message the widget sends is counted: the change
messages (``inserted`` / ``updated`` / ``delta``), the batched ``log`` message and the trait
updates (``item_count``, ``event_count``, ``change_seq``), each serialised like ipykernel does
(:class:`bench.RecordingComm`). After each step the benchmark waits for the widget's
``batch_interval`` timer, so the batched messages are in.

Measured at each size with a fresh widget on the same session:

* new item: a user message arrives (``conversation.item.added`` then ``.done``);
* new item, log panel open (info): the same while a view has its event-log panel open, so
  the two log entries go out too (with no panel open the browser gets no log entries);
* one delta: one ``response.output_text.delta`` in the middle of a streamed answer, alone
  (the worst case: it pays for its own log and trait messages);
* delta in a burst (info): the mean per delta over a burst of 40 deltas;
* snapshot (info): the widget's opening state at that size.

"bytes" is the comm message content (``{"data": ..., "comm_id": ...}``, what the widget chose
to send; ``widget.bytes_sent`` counts nearly the same); "wire" adds the Jupyter envelope
(header, parent header, metadata, signature) that each message pays on the iopub socket.
After each step the benchmark also waits for the ``change_seq`` heartbeat (one trait
message at most once per second, whatever number of changes it covers; it tells a view that
was still loading which messages it missed); its bytes are reported on their own line and are
in the "wire" figures, not in the per-change "bytes".
Target: new item and one delta <= 2x the item's JSON size, flat as the conversation grows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from bench import (
    Row,
    _Ids,
    detach_widget,
    fmt_bytes,
    recording_comms,
    response_turn,
    user_turn,
)

SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)
TARGET_RATIO = 2.0
FLAT_TARGET = 1.1  # ratio at the largest size / ratio at the smallest
BURST = 40
HEARTBEAT_KIND = "comm_msg:update"


class Feeder:
    """A conversation fed turn by turn into an offline session."""

    def __init__(self) -> None:
        from realtime_nb.client import RealtimeConversation
        from realtime_nb.core.connection import Connection

        self.session = Connection.offline()
        self.conv = RealtimeConversation(self.session)  # the conv.df listener, as in use
        self.ids = _Ids()
        self.prev: str | None = None
        self.turn = 0

    def feed(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.session.receive(json.dumps(event))

    def user(self) -> dict[str, Any]:
        events, self.prev = user_turn(self.ids, self.turn, self.prev)
        self.feed(events)
        return events[-1]["item"]

    def answer(self, n_deltas: int) -> list[dict[str, Any]]:
        events, self.prev = response_turn(self.ids, self.turn, self.prev, n_deltas)
        self.turn += 1
        return events

    def fill(self, n_items: int) -> None:
        while len(self.session.model) < n_items:
            self.user()
            if len(self.session.model) < n_items:
                self.feed(self.answer(6))


def _settle(widget: Any) -> None:
    """Wait until the widget's batch and its ``change_seq`` heartbeat have gone out."""
    deadline = time.monotonic() + 5
    time.sleep(widget._batch_interval * 1.5)
    while ((widget._flush_scheduled or widget._heartbeat_scheduled)
           and time.monotonic() < deadline):
        time.sleep(0.01)
    time.sleep(0.02)


def _cost(widget: Any, step: Any) -> dict[str, Any]:
    """Bytes the widget sends because of ``step()`` (after its batched flush)."""
    _settle(widget)
    m0, c0, w0, k0 = widget.comm.totals()
    widget.count_bytes = True
    b0 = widget.bytes_sent
    step()
    _settle(widget)
    m1, c1, w1, k1 = widget.comm.totals()
    kinds = {k: v - k0.get(k, 0) for k, v in k1.items() if v != k0.get(k, 0)}
    # trait updates: only the change_seq heartbeat (at most one per `heartbeat` seconds,
    # however many changes it covers), reported apart from the change messages
    beat = kinds.get(HEARTBEAT_KIND, 0)
    return {"messages": m1 - m0 - (1 if beat else 0), "bytes": c1 - c0 - beat,
            "wire": w1 - w0, "heartbeat": beat,
            "bytes_sent": widget.bytes_sent - b0, "by_kind": kinds}


def _split_answer(events: list[dict[str, Any]]) -> tuple[list[Any], list[Any], list[Any]]:
    """(events before the deltas, the deltas, events after)."""
    first = next(i for i, e in enumerate(events) if e["type"].endswith(".delta"))
    last = max(i for i, e in enumerate(events) if e["type"].endswith(".delta"))
    return events[:first], events[first: last + 1], events[last + 1:]


def measure_at(feeder: Feeder, n_items: int) -> dict[str, Any]:
    from realtime_nb.notebook.widget import ConversationWidget

    feeder.fill(n_items)
    session = feeder.session
    with recording_comms():
        widget = ConversationWidget(feeder.conv)
    try:
        _, snap_bytes, snap_wire, _ = widget.comm.totals()
        out: dict[str, Any] = {"items": len(session.model), "snapshot_bytes": snap_bytes,
                               "snapshot_wire": snap_wire}
        # a new user item
        holder: dict[str, Any] = {}
        out["new_item"] = _cost(widget, lambda: holder.setdefault("item", feeder.user()))
        out["new_item"]["item_json"] = len(json.dumps(holder["item"]))
        # a streamed answer: one delta alone, then a burst
        head, deltas, tail = _split_answer(feeder.answer(BURST + 12))
        feeder.feed(head + deltas[:5])
        out["delta"] = _cost(widget, lambda: feeder.feed(deltas[5:6]))
        burst = deltas[6: 6 + BURST]
        out["burst"] = _cost(widget, lambda: feeder.feed(burst))
        out["burst"]["n"] = len(burst)
        feeder.feed(deltas[6 + BURST:] + tail)
        final = tail[-1]["response"]["output"][0]
        out["delta"]["item_json"] = len(json.dumps(final))
        out["delta"]["event_json"] = len(json.dumps(deltas[5]))
        out["burst"]["item_json"] = out["delta"]["item_json"]
        # the same new item while a view has its event-log panel open (entries stream then)
        widget._on_front_message(widget, {"kind": "log_watch", "view": "bench", "open": True}, [])
        out["new_item_log"] = _cost(widget, lambda: holder.update(item=feeder.user()))
        out["new_item_log"]["item_json"] = len(json.dumps(holder["item"]))
        return out
    finally:
        detach_widget(widget, session)
        widget.close()


def run(quick: bool = False, sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    feeder = Feeder()
    at = {n: measure_at(feeder, n) for n in sizes}
    lo, hi = at[sizes[0]], at[sizes[-1]]

    def ratio(m: dict[str, Any]) -> float:
        return m["bytes"] / m["item_json"]

    return {
        "sizes": list(sizes),
        "at": at,
        "growth_new_item": ratio(hi["new_item"]) / ratio(lo["new_item"]),
        "growth_delta": ratio(hi["delta"]) / ratio(lo["delta"]),
    }


def rows(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for n in r["sizes"]:
        m = r["at"][n]
        for key, label in (("new_item", "new item"), ("delta", "one delta")):
            x = m[key]
            ratio = x["bytes"] / x["item_json"]
            out.append(Row(f"widget {label} at {n:,} items ({x['messages']} msgs)",
                           fmt_bytes(x["bytes"]), f"item {fmt_bytes(x['item_json'])}",
                           f"{ratio:.2f}", f"<= {TARGET_RATIO}x", ratio <= TARGET_RATIO))
            wire = x["wire"] / x["item_json"]
            out.append(Row("  same + heartbeat, on the wire (Jupyter envelope)",
                           fmt_bytes(x["wire"]), f"item {fmt_bytes(x['item_json'])}",
                           f"{wire:.2f}"))
        x = m["new_item_log"]
        out.append(Row(f"  new item, log panel open ({x['messages']} msgs)", fmt_bytes(x["bytes"]),
                       f"item {fmt_bytes(x['item_json'])}", f"{x['bytes'] / x['item_json']:.2f}"))
        b = m["burst"]
        out.append(Row(f"widget delta in a burst of {b['n']} at {n:,} items",
                       fmt_bytes(b["bytes"] / b["n"]), f"item {fmt_bytes(b['item_json'])}",
                       f"{b['bytes'] / b['n'] / b['item_json']:.2f}"))
    last = r["at"][r["sizes"][-1]]
    beat = last["new_item"]["heartbeat"]
    out.append(Row("widget change_seq heartbeat (<= 1 per second)", fmt_bytes(beat),
                   f"item {fmt_bytes(last['new_item']['item_json'])}",
                   f"{beat / last['new_item']['item_json']:.2f}"))
    out.append(Row(f"widget snapshot at {r['sizes'][-1]:,} items (opening state)",
                   fmt_bytes(last["snapshot_bytes"]),
                   f"{last['snapshot_bytes'] / last['items']:,.0f} B/item"))
    for key, label in (("growth_new_item", "new item"), ("growth_delta", "one delta")):
        g = r[key]
        out.append(Row(f"widget {label} growth {r['sizes'][0]:,} -> {r['sizes'][-1]:,} items",
                       f"{g:.2f}x", "", f"{g:.2f}", f"<= {FLAT_TARGET}x", g <= FLAT_TARGET))
    return out


def _kinds(r: dict[str, Any]) -> Iterator[str]:
    for n in r["sizes"]:
        for key in ("new_item", "delta", "burst", "new_item_log"):
            yield f"{n:>6} {key:8} {r['at'][n][key]['by_kind']}"


def main() -> None:
    import argparse

    from bench import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    result = run(parser.parse_args().quick)
    print(format_table(rows(result)))
    print("\n".join(_kinds(result)))


if __name__ == "__main__":
    main()
