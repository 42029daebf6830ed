"""Regenerate sample_session.jsonl: a scripted conversation on the embedded server, saved.

Run from the repo root: .venv/bin/python notebooks/data/make_sample_session.py
"""

from __future__ import annotations

import json
from pathlib import Path

import realtime_nb as rnb

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}
QUESTIONS = [
    "What is a Realtime conversation item?",
    "How does previous_item_id decide where an item goes?",
    "Why would I insert an item at the root?",
    "What does conversation.item.done mean?",
]


def main() -> None:
    conv = rnb.connect()
    conv.create(role="system", text="You are a patient teacher.", previous_item_id="root")
    for question in QUESTIONS:
        conv.create(question)
        conv.respond()
    conv.update_session(tools=[WEATHER])
    conv.create("What is the weather in Lisbon? Use get_weather.")
    call = conv.respond().items[0]
    conv.create({"type": "function_call_output", "call_id": call.call_id,
                 "output": json.dumps({"city": "Lisbon", "temp_c": 19})})
    conv.respond()
    out = Path(__file__).with_name("sample_session.jsonl")
    conv.save(out)
    conv.close()
    print(out, len(conv.items), "items")


if __name__ == "__main__":
    main()
