// The worklet modules' URLs (Blob URLs of their bundled source, made once per page).

import captureSrc from "./capture.worklet?worklet";
import playerSrc from "./player.worklet?worklet";

export type WorkletKind = "player" | "capture";

const urls = new Map<WorkletKind, string>();

/** The URL to `audioWorklet.addModule`, or null when the source is not bundled (tests). */
export function workletUrl(kind: WorkletKind): string | null {
  const cached = urls.get(kind);
  if (cached) return cached;
  const src = kind === "player" ? playerSrc : captureSrc;
  if (typeof src !== "string" || typeof URL.createObjectURL !== "function") return null;
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  urls.set(kind, url);
  return url;
}
