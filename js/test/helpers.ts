// Test doubles: an in-memory anywidget model and a manual frame scheduler.
import type { FrameScheduler } from "../src/coalesce";
import type { ItemView } from "../src/types";
import { ConversationView } from "../src/view";

type Cb = (...args: any[]) => void;

export class FakeModel {
  sent: any[] = [];
  private traits: Record<string, unknown>;
  private handlers = new Map<string, Set<Cb>>();

  constructor(traits: Record<string, unknown> = {}) {
    this.traits = {
      status: "open",
      endpoint: "embedded ws://127.0.0.1:1234/v1/realtime",
      dialect: "ga",
      ...traits,
    };
  }
  get(name: string): unknown {
    return this.traits[name];
  }
  set(name: string, value: unknown): void {
    this.traits[name] = value;
    this.emit(`change:${name}`);
  }
  save_changes(): void {}
  on(event: string, cb: Cb): void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(cb);
  }
  off(event?: string | null, cb?: Cb | null): void {
    if (!event) {
      this.handlers.clear();
      return;
    }
    if (!cb) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(cb);
  }
  send(content: any): void {
    this.sent.push(content);
  }
  /** The kernel sends a custom message to every view. */
  emit(event: string, ...args: unknown[]): void {
    for (const cb of [...(this.handlers.get(event) ?? [])]) cb(...args);
  }
  custom(msg: unknown): void {
    this.emit("msg:custom", msg, []);
  }
  listenerCount(event: string): number {
    return this.handlers.get(event)?.size ?? 0;
  }
  lastSent(kind?: string): any {
    const list = kind ? this.sent.filter((m) => m.kind === kind) : this.sent;
    return list[list.length - 1];
  }
}

export class ManualScheduler implements FrameScheduler {
  private next = 1;
  private queue = new Map<number, () => void>();
  frames = 0;
  request(cb: () => void): number {
    const id = this.next++;
    this.queue.set(id, cb);
    return id;
  }
  cancel(handle: number): void {
    this.queue.delete(handle);
  }
  get pending(): number {
    return this.queue.size;
  }
  /** Run one animation frame: every callback requested before it started. */
  frame(): void {
    const cbs = [...this.queue.values()];
    this.queue.clear();
    this.frames += 1;
    for (const cb of cbs) cb();
  }
}

let n = 0;
export function msg(id: string, prev: string | null, text = `text of ${id}`, extra: Partial<ItemView> = {}): ItemView {
  return {
    id,
    type: "message",
    role: "user",
    status: "completed",
    content: [{ type: "input_text", text }],
    previous_item_id: prev,
    text,
    flagged: false,
    done: true,
    response_id: null,
    ...extra,
  };
}

export function seqIds(prefix = "id"): () => string {
  return () => `${prefix}-${++n}`;
}

/** A started view on a fresh FakeModel in a host attached to the document; request ids are
 * `req-1`, `req-2`, ... The caller destroys the view and removes the host. */
export function mountView(traits: Record<string, unknown> = {}) {
  const model = new FakeModel(traits);
  const sched = new ManualScheduler();
  const host = document.createElement("div");
  document.body.append(host);
  let n = 0;
  const view = new ConversationView(model, host, { scheduler: sched, newId: () => `req-${++n}` });
  view.start();
  return { model, sched, host, view };
}
