"""The demo behind ``python -m realtime_nb demo``: a scripted conversation on the embedded server.

It shows the whole data path without a key or a network: items created from code, a streamed
response, a function-call round trip, and the conversation as a DataFrame.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from .client import connect

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def run_demo(out: TextIO = sys.stdout) -> int:
    """Run the scripted conversation, print it and its DataFrame; return an exit code."""
    conv = connect()
    try:
        print(f"connected: {conv.endpoint.name}", file=out)
        conv.create(role="system", text="Answer briefly.", previous_item_id="root")
        conv.create("Hello! What can you do offline?")
        conv.respond()
        conv.update_session(type="realtime", tools=[WEATHER_TOOL])
        conv.create("What is the weather in Oslo? Please use get_weather.")
        call = conv.respond().items[0]
        if call.type == "function_call":
            conv.create({"type": "function_call_output", "call_id": call.call_id,
                         "output": json.dumps({"city": "Oslo", "temp_c": 21})})
            conv.respond()
        print("\nconversation:", file=out)
        for i, item in enumerate(conv.items):
            who = item.role or (f"{item.type} {item.name}" if item.name else item.type)
            print(f"{i:>2}. [{who}] {item.text}", file=out)
        df = getattr(conv, "df", None)
        if df is not None:
            import pandas as pd

            with pd.option_context("display.width", 140, "display.max_colwidth", 40,
                                   "display.max_columns", 10):
                print("\nconv.df:", file=out)
                print(df[["position", "type", "role", "status", "text"]], file=out)
        print(f"\n{len(conv.log)} events logged; errors: {len(conv.errors)}", file=out)
        return 0
    finally:
        conv.close()
