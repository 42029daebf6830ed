// The bookkeeping of front-end actions: all editors of one view, the composer, and the
// requests this view sent.
//
// Every action sends one message with a fresh request_id and waits for the kernel's `result`
// with that id. Nothing here changes the list: an accepted action shows up through the
// `inserted` / `removed` / `updated` messages that follow (no optimistic changes).
// Results for request ids this view did not send (another view's) are ignored.
// A request the kernel does not answer in time (`action_timeout`; longer while it runs a
// cell) fails with a message, and every pending request fails at once when the kernel goes.

import { Composer } from "./composer";
import { ROOT } from "./constants";
import { Editor, type EditorMode } from "./editor";
import { newRequestId } from "./protocol";
import { editText } from "./row";
import type { ControlState, FrontMsg, ItemView, ResultMsg, SessionFields } from "./types";

export interface ActionDeps {
  send(msg: FrontMsg): void;
  /** Item lookup for the editor's initial text. */
  getItem(id: string): ItemView | undefined;
  /** An editor or an action error of this row changed (null = the top of the list). */
  changed(rowId: string | null): void;
  /** An action created this item: show it (scroll to it, highlight it). */
  created?(itemId: string): void;
  /** The session panel's request ended (ok or not). */
  sessionResult?(ok: boolean, error: string | null, field: string | null): void;
  /** Seconds to wait for the kernel's answer; whether the kernel is busy now. */
  timeout?(): number;
  busy?(): boolean;
  /** A request id generator (tests inject a deterministic one). */
  newId?: () => string;
}

interface Pending {
  kind: "editor" | "delete" | "send" | "respond" | "cancel" | "session";
  editor?: Editor;
  itemId?: string;
  timer?: ReturnType<typeof setTimeout>;
}

/** All editors of one view, the composer, and the pending requests of this view. */
export class Actions {
  /** Open editors by row id ("root" = the top editor). One per row. */
  readonly editors = new Map<string, Editor>();
  /** Rejected actions by item id (delete), shown next to the item. */
  readonly rowErrors = new Map<string, string>();
  readonly composer: Composer;
  private readonly pending = new Map<string, Pending>();
  /** The kind of every request this view sent (the newest 200), to route server errors. */
  private readonly kinds = new Map<string, Pending["kind"]>();
  private readonly newId: () => string;
  /** Why actions cannot reach the kernel now ("" = they can). */
  private gone = "";
  private live = true;

  constructor(private readonly deps: ActionDeps) {
    this.newId = deps.newId ?? (() => newRequestId());
    this.composer = new Composer({
      send: (text, respond) => {
        const request_id = this.request({ kind: "send" });
        this.composer.setPending(request_id);
        this.composer.setError(null);
        this.deps.send(respond ? { kind: "send", request_id, text, respond: true } : { kind: "send", request_id, text });
      },
      respond: () => {
        const request_id = this.request({ kind: "respond" });
        this.composer.setError(null);
        this.deps.send({ kind: "respond", request_id });
      },
      cancel: () => {
        const request_id = this.request({ kind: "cancel" });
        this.deps.send({ kind: "cancel", request_id });
      },
    });
  }

  /** The editor element under row `rowId`, if one is open. */
  editorFor(rowId: string): HTMLElement | null {
    return this.editors.get(rowId)?.el ?? null;
  }

  openEdit(itemId: string): Editor | null {
    const item = this.deps.getItem(itemId);
    if (!item) return null;
    return this.open("edit", itemId, itemId, editText(item), item.type === "function_call_output");
  }

  openInsert(anchor: string): Editor {
    return this.open("insert", anchor, anchor, "");
  }

  delete(itemId: string): void {
    if (!this.live) return;
    const request_id = this.request({ kind: "delete", itemId });
    if (this.rowErrors.delete(itemId)) this.deps.changed(itemId);
    this.deps.send({ kind: "delete", request_id, item_id: itemId });
  }

  session(fields: SessionFields): string | null {
    if (!this.live) return null;
    const request_id = this.request({ kind: "session" });
    this.deps.send({ kind: "session", request_id, session: fields });
    return request_id;
  }

  /** What kind of action this view sent with a request id (null: not this view's). */
  kindOf(id: string | null): Pending["kind"] | null {
    return id === null ? null : (this.kinds.get(id) ?? null);
  }

  close(rowId: string): void {
    const ed = this.editors.get(rowId);
    if (!ed) return;
    if (ed.pendingRequest !== null) this.forget(ed.pendingRequest);
    this.editors.delete(rowId);
    this.deps.changed(rowId === ROOT ? null : rowId);
  }

  dismissRowError(itemId: string): void {
    if (this.rowErrors.delete(itemId)) this.deps.changed(itemId);
  }

  /** An item disappeared. An idle editor of it keeps its text: it becomes an insert after the
   * item's old predecessor (or at the top) with a note; a pending one waits for its result. */
  itemRemoved(itemId: string, prevId: string | null): void {
    const ed = this.editors.get(itemId);
    if (ed && ed.pendingRequest === null) {
      this.editors.delete(itemId);
      const anchor = prevId ?? ROOT;
      if (ed.mode === "edit" && !this.editors.has(anchor)) {
        ed.orphan(anchor);
        this.editors.set(anchor, ed);
        this.deps.changed(anchor === ROOT ? null : anchor);
      }
    }
    this.rowErrors.delete(itemId);
  }

  /** A new snapshot: forget idle editors and errors of items that are gone. */
  reset(exists: (id: string) => boolean): void {
    for (const [rowId, ed] of [...this.editors]) {
      if (rowId !== ROOT && ed.pendingRequest === null && !exists(rowId)) this.editors.delete(rowId);
    }
    for (const id of [...this.rowErrors.keys()]) if (!exists(id)) this.rowErrors.delete(id);
  }

  /** Controls follow the state (a closed session or a gone kernel turn them off). */
  setControls(state: ControlState, gone: string): void {
    this.live = state.live;
    this.composer.setControls(state);
    for (const ed of this.editors.values()) ed.setLive(state.live);
    if (gone && !this.gone) {
      this.gone = gone;
      for (const id of [...this.pending.keys()]) {
        this.fail(id, `${gone}: this widget is no longer connected; run the cell again`);
      }
    }
  }

  /** Handle a `result`; returns false when it is not for this view. */
  handleResult(r: ResultMsg): boolean {
    const p = this.pending.get(r.request_id);
    if (!p) return false;
    this.forget(r.request_id);
    if (r.ok && r.item_id) this.deps.created?.(r.item_id);
    this.finish(p, r.ok, r.error ?? (r.field ? `rejected (${r.field})` : "rejected"), r.field);
    return true;
  }

  private finish(p: Pending, ok: boolean, message: string, field: string | null = null): void {
    switch (p.kind) {
      case "editor": {
        const ed = p.editor!;
        const rowId = [...this.editors].find(([, e]) => e === ed)?.[0];
        if (rowId === undefined) return; // closed meanwhile
        if (ok) {
          this.editors.delete(rowId);
        } else {
          ed.setPending(null);
          ed.setError(message);
        }
        this.deps.changed(rowId === ROOT ? null : rowId);
        return;
      }
      case "delete":
        if (!ok && p.itemId) {
          this.rowErrors.set(p.itemId, message);
          this.deps.changed(p.itemId);
        }
        return;
      case "send":
        this.composer.setPending(null);
        if (ok) {
          this.composer.clear();
          this.composer.setError(null);
        } else {
          this.composer.setError(message);
        }
        return;
      case "respond":
      case "cancel":
        if (!ok) this.composer.setError(`${p.kind === "respond" ? "Response" : "Stop"}: ${message}`);
        return;
      case "session":
        this.deps.sessionResult?.(ok, ok ? null : message, field);
        return;
    }
  }

  private fail(id: string, message: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.forget(id);
    this.finish(p, false, message);
  }

  private forget(id: string): void {
    const p = this.pending.get(id);
    if (p?.timer !== undefined) clearTimeout(p.timer);
    this.pending.delete(id);
  }

  private open(mode: EditorMode, rowId: string, target: string, text: string, json = false): Editor {
    const existing = this.editors.get(rowId);
    if (existing && existing.mode === mode && existing.target === target) {
      existing.focus();
      return existing;
    }
    if (existing) this.close(rowId);
    const ed = new Editor(
      mode,
      target,
      text,
      (e) => this.save(e),
      (e) => this.close([...this.editors].find(([, x]) => x === e)?.[0] ?? e.target),
      json,
    );
    ed.setLive(this.live);
    this.editors.set(rowId, ed);
    this.deps.changed(rowId === ROOT ? null : rowId);
    return ed;
  }

  private save(ed: Editor): void {
    if (!this.live) return;
    const request_id = this.request({ kind: "editor", editor: ed });
    ed.setPending(request_id);
    const text = ed.textarea.value;
    if (ed.mode === "edit") {
      this.deps.send({ kind: "edit", request_id, item_id: ed.target, text });
    } else {
      this.deps.send({ kind: "insert", request_id, previous_item_id: ed.target, role: ed.role, text });
    }
  }

  private request(p: Pending): string {
    const id = this.newId();
    this.pending.set(id, p);
    this.kinds.set(id, p.kind);
    if (this.kinds.size > 200) this.kinds.delete(this.kinds.keys().next().value!);
    this.arm(id, p);
    return id;
  }

  /** Time the request out if the kernel does not answer (waiting longer while it is busy:
   * the browser's messages are handled only when the running cell ends). */
  private arm(id: string, p: Pending): void {
    const seconds = this.deps.timeout?.() ?? 30;
    if (!(seconds > 0) || typeof setTimeout !== "function") return;
    p.timer = setTimeout(() => {
      if (!this.pending.has(id)) return;
      if (this.deps.busy?.()) {
        this.arm(id, p); // a cell runs: the kernel answers when it ends
        return;
      }
      this.fail(id, `no answer from the kernel after ${seconds} s: is it still running? ` +
        "(if it restarted, run the cell again)");
    }, seconds * 1000);
  }
}
