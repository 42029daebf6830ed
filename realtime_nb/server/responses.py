"""One ``response.create`` of the embedded server, as a pure sequence of server events.

The transport drives a :class:`ResponseRun` in three phases so that deltas can be paced and a
``response.cancel`` can land between any two of them:

1. :meth:`ResponseRun.begin` — ``response.created``, ``response.output_item.added``, the
   dialect's item events (in-conversation only) and, for a message, ``response.content_part.added``;
2. :meth:`ResponseRun.step` — one delta per call (``response.output_text.delta`` or
   ``response.function_call_arguments.delta``; for a response that speaks,
   ``response.output_audio.delta`` of 80 ms of PCM16 at the session's output rate interleaved
   with ``response.output_audio_transcript.delta``) until it returns ``None``;
3. :meth:`ResponseRun.finish` — the ``*.done`` events, ``response.done`` and (GA/beta)
   ``rate_limits.updated``. After a cancel the item ends ``incomplete`` with the text streamed so
   far and the response ``cancelled`` with reason ``client_cancelled``.

An out-of-band response (``response.conversation == "none"``) sends the same response events but
no ``conversation.item.*`` event and never touches the conversation.

A response speaks when ``audio`` is in its output modalities (GA ``output_modalities``, beta
``modalities``): the planned text is synthesized (:mod:`.speech`) and becomes the transcript;
the stored item keeps the audio (``conversation.item.retrieve`` returns it, truncate cuts it).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import Any, Protocol

from ..core.protocol import dialect
from .config import audio_rate, voice, wants_audio
from .responder import ResponsePlan, plan_response, split_text, usage
from .speech import synthesize
from .wire import RequestError, random_id, render_item, server_event

#: Milliseconds of audio in one ``response.output_audio.delta`` (the real service: 50-100).
AUDIO_CHUNK_MS = 80


class ConversationState(Protocol):
    """What a response reads and writes of its connection (``state.ConnectionState``)."""

    dialect: str
    session: dict[str, Any]
    conversation_id: str
    items: dict[str, dict[str, Any]]
    active: dict[str, ResponseRun]
    rates: dict[str, int]  # the sample rate of each item's audio

    def context(self) -> list[dict[str, Any]]: ...
    def predecessor(self, item_id: str) -> str | None: ...
    def insert(self, item: dict[str, Any], after: str | None = None, *, at_end: bool = True
               ) -> str | None: ...
    def item_events(self, item: Mapping[str, Any], previous: str | None, *, done: bool = True
                    ) -> list[dict[str, Any]]: ...
    def clean_item(self, raw: dict[str, Any], where: str = "item") -> dict[str, Any]: ...

GA_RESPONSE_FIELDS = (
    "audio", "conversation", "input", "instructions", "max_output_tokens", "metadata",
    "output_modalities", "parallel_tool_calls", "prompt", "reasoning", "tool_choice", "tools",
)
BETA_RESPONSE_FIELDS = (
    "conversation", "input", "instructions", "max_response_output_tokens", "metadata",
    "modalities", "output_audio_format", "temperature", "tool_choice", "tools", "voice",
)


class ResponseRun:
    """A response in flight: its plan, its output item and the text streamed so far."""

    def __init__(self, state: ConversationState, params: dict[str, Any]) -> None:
        self.state = state
        self.dialect = state.dialect
        self.spec = dialect(state.dialect)
        self.params = self._check(params)
        self.id = random_id("resp_")
        self.in_conversation = params.get("conversation") != "none"
        self.context = self._context()
        self.plan = plan_response(self.context, state.session, self.params, state.rates)
        self.cancelled = False
        self.cancel_reason = "client_cancelled"
        self.finished = False
        self.sent = ""
        self._chunks: list[str | bytes] = list(self.plan.chunks)
        #: A response that speaks: its output rate, the audio streamed so far, and where a
        #: truncate cut it while it was still streaming (ms).
        self.speaks = self.plan.kind == "message" and wants_audio(state.session, self.dialect,
                                                                   self.params)
        self.rate = audio_rate(state.session, self.dialect, "output")
        self.voice = voice(state.session, self.dialect, self.params)
        self.audio = bytearray()
        self.cut_ms: int | None = None
        #: The output items, in output order: one message, or one item per function call
        #: (the model's parallel calls), each with its plan and the arguments streamed.
        self.outputs: list[tuple[ResponsePlan, dict[str, Any]]] = []
        for plan in self.plan.calls if self.plan.kind == "function_call" else [self.plan]:
            item: dict[str, Any] = {"id": random_id("item_"), "type": plan.kind,
                                    "status": "in_progress"}
            if plan.kind == "message":
                item.update(role="assistant", content=[])
            else:
                item.update(call_id=plan.call_id, name=plan.name, arguments="")
            if self.dialect == "yandex":
                item["metadata"] = None
            self.outputs.append((plan, item))
        self.item = self.outputs[0][1]
        if self.plan.kind == "function_call":  # each call's argument deltas, in turn
            self._chunks = [(i, c) for i, (p, _) in enumerate(self.outputs) for c in p.chunks]

    # ------------------------------------------------------------------ parameters
    def _check(self, params: dict[str, Any]) -> dict[str, Any]:
        allowed = {"ga": GA_RESPONSE_FIELDS, "beta": BETA_RESPONSE_FIELDS}.get(self.dialect)
        for key in params:
            if allowed is not None and key not in allowed:
                raise RequestError(f"Unknown parameter: 'response.{key}'.",
                                   code="unknown_parameter", param=f"response.{key}")
        meta = params.get("metadata")
        if meta is not None and (
            not isinstance(meta, dict) or len(meta) > 16
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
        ):
            raise RequestError("Invalid 'response.metadata': expected at most 16 string pairs.",
                               param="response.metadata")
        for key in ("input", "tools"):
            if params.get(key) is not None and not isinstance(params[key], list):
                raise RequestError(f"Invalid type for 'response.{key}': expected an array.",
                                   code="invalid_type", param=f"response.{key}")
        return params

    def _context(self) -> list[dict[str, Any]]:
        """The items the responder reads: ``response.input`` if given, else the conversation."""
        given = self.params.get("input")
        if given is None:
            return copy.deepcopy(self.state.context())
        context = []
        for i, entry in enumerate(given):
            where = f"response.input[{i}]"
            if isinstance(entry, dict) and entry.get("type") == "item_reference":
                ref = self.state.items.get(entry.get("id"))  # type: ignore[arg-type]
                if ref is None:
                    raise RequestError(f"Invalid '{where}.id': no item with id "
                                       f"{entry.get('id')!r} in the conversation.",
                                       param=f"{where}.id")
                context.append(copy.deepcopy(ref))
            elif isinstance(entry, dict):
                context.append(self.state.clean_item(entry, where))
            else:
                raise RequestError(f"Invalid type for '{where}': expected an object.",
                                   code="invalid_type", param=where)
        return context

    # ------------------------------------------------------------------ event helpers
    def _event(self, etype: str, /, **fields: Any) -> dict[str, Any]:
        return server_event(self.spec.event_names.get(etype, etype), **fields)

    def _where(self, index: int = 0) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": self.outputs[index][1]["id"],
                "output_index": index}

    def _part(self, text: str) -> dict[str, Any]:
        if self.speaks:
            return {"type": "output_audio" if self.dialect == "yandex" else "audio",
                    "transcript": text}
        return {"type": "output_text" if self.dialect == "yandex" else "text", "text": text}

    def _speak(self) -> None:
        """Synthesize the planned text; interleave 80 ms audio chunks (bytes) with the
        transcript's word deltas (str) in proportion, audio first."""
        pcm = synthesize(self.plan.text, self.rate, self.voice)
        size = self.rate * AUDIO_CHUNK_MS // 1000 * 2
        audio = [pcm[i: i + size] for i in range(0, len(pcm), size)]
        words = split_text(self.plan.text)
        order = sorted([(i / len(audio), 0, i) for i in range(len(audio))]
                       + [(j / len(words), 1, j) for j in range(len(words))])
        self._chunks = [audio[i] if kind == 0 else words[i] for _, kind, i in order]

    def audio_ms(self) -> int:
        """Milliseconds of audio streamed so far."""
        return len(self.audio) * 1000 // (2 * self.rate)

    def response_object(self, status: str, output: list[dict[str, Any]],
                        usage_: dict[str, Any] | None, details: dict[str, Any] | None = None
                        ) -> dict[str, Any]:
        """The ``response`` object of ``response.created`` / ``response.done``."""
        session, params = self.state.session, self.params
        out: dict[str, Any] = {
            "id": self.id, "object": "realtime.response", "status": status,
            "status_details": details, "output": output,
            "conversation_id": self.state.conversation_id if self.in_conversation else None,
        }
        if self.dialect == "beta":
            out.update(
                modalities=params.get("modalities", session.get("modalities")),
                voice=params.get("voice", session.get("voice")),
                output_audio_format=params.get("output_audio_format",
                                               session.get("output_audio_format")),
                temperature=params.get("temperature", session.get("temperature")),
                max_output_tokens=params.get("max_response_output_tokens",
                                             session.get("max_response_output_tokens")),
            )
        else:
            audio_out = (session.get("audio") or {}).get("output") or {}
            voice = audio_out.get("voice")
            out.update(
                output_modalities=params.get("output_modalities",
                                             session.get("output_modalities")),
                max_output_tokens=params.get("max_output_tokens",
                                             session.get("max_output_tokens")),
                audio={"output": {"format": audio_out.get("format"),
                                  "voice": voice if isinstance(voice, str) else None}},
            )
        out["metadata"] = params.get("metadata")
        out["usage"] = usage_
        return out

    # ------------------------------------------------------------------ phases
    def begin(self) -> list[dict[str, Any]]:
        events = [self._event("response.created", response=self.response_object(
            "in_progress", [], None))]
        for index, (_, item) in enumerate(self.outputs):
            events.append(self._event("response.output_item.added", response_id=self.id,
                                      output_index=index, item=render_item(item, self.dialect)))
            if self.in_conversation:
                # the conversation holds the live item: retrieve shows what streamed so far
                previous = self.state.insert(item)
                events += self.state.item_events(item, previous, done=False)
        if self.speaks:
            self.item["content"] = [{"type": "output_audio", "transcript": ""}]
            events.append(self._event("response.content_part.added", **self._where(),
                                      content_index=0, part=self._part("")))
            self._speak()
        elif self.plan.kind == "message":
            self.item["content"] = [{"type": "output_text", "text": ""}]
            events.append(self._event("response.content_part.added", **self._where(),
                                      content_index=0, part=self._part("")))
        return events

    def step(self) -> dict[str, Any] | None:
        """The next delta, or ``None`` when everything is streamed (or the run was cancelled)."""
        if self.cancelled or not self._chunks:
            return None
        delta = self._chunks.pop(0)
        if isinstance(delta, tuple):  # a function call's arguments
            index, text = delta
            plan, item = self.outputs[index]
            self.sent += text
            item["arguments"] += text
            return self._event("response.function_call_arguments.delta", **self._where(index),
                               call_id=plan.call_id, delta=text)
        if isinstance(delta, bytes):
            self.audio += delta
            return self._event("response.output_audio.delta", **self._where(), content_index=0,
                               delta=base64.b64encode(delta).decode("ascii"))
        self.sent += delta
        if self.speaks:
            self.item["content"][0]["transcript"] = self.sent
            return self._event("response.output_audio_transcript.delta", **self._where(),
                               content_index=0, delta=delta)
        self.item["content"][0]["text"] = self.sent
        return self._event("response.output_text.delta", **self._where(), content_index=0,
                           delta=delta)

    def finish(self) -> list[dict[str, Any]]:
        """Close the open part and item and send ``response.done`` (idempotent: once only)."""
        if self.finished:
            return []
        self.finished = True
        self.state.active.pop(self.id, None)
        events: list[dict[str, Any]] = []
        finals = []
        for index, (plan, item) in enumerate(self.outputs):
            item["status"] = "incomplete" if self.cancelled else "completed"
            if self.speaks:
                events += self._finish_audio()
            elif plan.kind == "message":
                events += [
                    self._event("response.output_text.done", **self._where(), content_index=0,
                                text=self.sent),
                    self._event("response.content_part.done", **self._where(), content_index=0,
                                part=self._part(self.sent)),
                ]
            else:
                events.append(self._event("response.function_call_arguments.done",
                                          **self._where(index), call_id=plan.call_id,
                                          name=plan.name, arguments=item["arguments"]))
            final = render_item(item, self.dialect)  # without audio bytes
            finals.append(final)
            events.append(self._event("response.output_item.done", response_id=self.id,
                                      output_index=index, item=copy.deepcopy(final)))
            if self.in_conversation and self.dialect != "beta" and item["id"] in self.state.items:
                events.append(self._event("conversation.item.done", item=copy.deepcopy(final),
                                          previous_item_id=self.state.predecessor(item["id"])))
        status = "cancelled" if self.cancelled else "completed"
        details = {"type": "cancelled", "reason": self.cancel_reason} if self.cancelled else None
        instructions = self.params.get("instructions", self.state.session.get("instructions"))
        used = usage(self.context, instructions if isinstance(instructions, str) else "",
                     self.sent, self.state.rates)
        if self.speaks:  # about one audio token per 50 ms, like the real service
            tokens = self.audio_ms() // 50
            used["output_token_details"]["audio_tokens"] = tokens
            used["output_tokens"] += tokens
            used["total_tokens"] += tokens
        events.append(self._event("response.done", response=self.response_object(
            status, finals, used, details)))
        if self.dialect != "yandex":
            tokens = used["total_tokens"]
            events.append(self._event("rate_limits.updated", rate_limits=[
                {"name": "requests", "limit": 10000, "remaining": 9999, "reset_seconds": 0.006},
                {"name": "tokens", "limit": 2000000, "remaining": 2000000 - tokens,
                 "reset_seconds": 0.3},
            ]))
        return events

    def _finish_audio(self) -> list[dict[str, Any]]:
        """The done events of a spoken part; the stored item keeps the audio (cut where a
        truncate cut it while streaming: then the transcript is dropped, as truncate does)."""
        where = {**self._where(), "content_index": 0}
        part = self.item["content"][0]
        audio = bytes(self.audio)
        if self.cut_ms is not None:
            audio = audio[: self.cut_ms * self.rate // 1000 * 2]
            part["transcript"] = ""
        else:
            part["transcript"] = self.sent
        part["audio"] = base64.b64encode(audio).decode("ascii")
        return [
            self._event("response.output_audio.done", **where),
            self._event("response.output_audio_transcript.done", **where, transcript=self.sent),
            self._event("response.content_part.done", **where, part=self._part(self.sent)),
        ]
