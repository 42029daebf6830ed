// Small pure formatting helpers.

/** Pretty-print JSON text with 2 spaces when it parses, else return it unchanged. */
export function prettyJson(raw: string | null | undefined): string {
  if (typeof raw !== "string") return "";
  const t = raw.trim();
  if (!t || !(t.startsWith("{") || t.startsWith("["))) return raw;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return raw;
  }
}

/** Any value as display text (objects as JSON). */
export function asText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  try {
    return JSON.stringify(v, null, 2) ?? "";
  } catch {
    return String(v);
  }
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Unix seconds -> local HH:MM:SS.mmm. */
export function formatTime(ts: number): string {
  if (!Number.isFinite(ts)) return "";
  const d = new Date(ts * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** JSON for the log's <details>, never throwing (cycles, BigInt). */
export function jsonDump(v: unknown): string {
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
}

/** "1 item", "2 items", "1,234 events": a count and its noun, singular when it is one. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? noun : nouns}`;
}
