// An item's audio control in its row: a play button and the duration (the kernel's `audio_s`
// in the item view; `audio_cut_ms` when the item was truncated). The click is handled by the
// view's voice bar (ui.ts), by delegation: rows stay free of callbacks.

import { h, iconButton } from "../dom";
import type { ItemView } from "../types";

const AUDIO_PARTS = new Set(["input_audio", "output_audio", "audio"]);

export function hasAudio(item: ItemView): boolean {
  return (item.content ?? []).some((p) => AUDIO_PARTS.has(p.type)) || typeof item.audio_s === "number";
}

/** "0.8 s", "12.3 s", "1:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m}:${String(Math.floor(seconds - m * 60)).padStart(2, "0")}`;
}

/** The play button and duration of an item with audio, else null. */
export function audioControl(item: ItemView): HTMLElement | null {
  if (!hasAudio(item)) return null;
  const seconds = typeof item.audio_s === "number" ? item.audio_s : null;
  const cut = typeof item.audio_cut_ms === "number" ? item.audio_cut_ms : null;
  const play = iconButton("Play audio", "play", "rnb-play");
  play.dataset.action = "play-audio";
  if (seconds !== null) play.dataset.audioMs = String(Math.round(seconds * 1000));
  const text = seconds === null ? "" : formatDuration(seconds);
  const duration = h("span", {
    className: "rnb-audio-duration",
    text: cut !== null ? `${text} (cut)` : text,
    title: cut !== null ? `truncated at ${(cut / 1000).toFixed(2)} s: the rest was not heard` : "",
  });
  return h("span", { className: "rnb-audio", attrs: { "data-truncated": cut !== null } }, [play, duration]);
}
