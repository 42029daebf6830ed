// Edit / insert editors, the composer, and the bookkeeping of front-end actions.
//
// Every action sends one message with a fresh request_id and waits for the kernel's `result`
// with that id. Nothing here changes the list: an accepted action shows up through the
// `inserted` / `removed` / `updated` messages that follow (no optimistic changes).
// Results for request ids this view did not send (another view's) are ignored.
// A request the kernel does not answer in time (`action_timeout`; longer while it runs a
// cell) fails with a message, and every pending request fails at once when the kernel goes.

import { ROOT } from "./constants";
import { button, h } from "./dom";
import { newRequestId } from "./protocol";
import { editText } from "./row";
import type { ControlState, FrontMsg, ItemView, ResultMsg, Role, SessionFields } from "./types";

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

const ROLES: readonly Role[] = ["user", "system", "assistant"];

/** Lumino skips keyboard shortcuts for events inside elements with this attribute. */
const SUPPRESS = "data-lm-suppress-shortcuts";

/** Keep JupyterLab from eating Shift+Enter's newline: on keydown in a notebook cell, Lab adds
 * a `beforeinput` listener that cancels `insertLineBreak`. Insert the newline ourselves. */
function insertNewline(ta: HTMLTextAreaElement): void {
  const { selectionStart: a, selectionEnd: b, value } = ta;
  ta.value = value.slice(0, a) + "\n" + value.slice(b);
  ta.selectionStart = ta.selectionEnd = a + 1;
  ta.dispatchEvent(new Event("input", { bubbles: true }));
}

/** Whether a text parses as JSON (what a function output should be); the error otherwise. */
export function jsonProblem(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export type EditorMode = "edit" | "insert";

/** One open editor: edit of an item, or insert after an item (or at the top). */
export class Editor {
  readonly el: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  readonly roleSelect: HTMLSelectElement | null;
  private readonly saveBtn: HTMLButtonElement;
  private readonly errorBox: HTMLElement;
  private readonly noteBox: HTMLElement;
  pendingRequest: string | null = null;
  error: string | null = null;
  /** Why this editor is not what it was opened as (its item was deleted meanwhile). */
  note: string | null = null;
  private live = true;

  constructor(
    public mode: EditorMode,
    /** edit: the item's id; insert: the anchor id or "root". */
    public target: string,
    initialText: string,
    private readonly onSave: (ed: Editor) => void,
    private readonly onCancel: (ed: Editor) => void,
    /** The text is JSON (a function output): monospace, and a warning when it does not parse. */
    readonly json = false,
  ) {
    this.textarea = h("textarea", {
      className: json ? "rnb-editor-text rnb-mono" : "rnb-editor-text",
      attrs: {
        "aria-label": mode === "edit" ? "Edit text" : "New item text",
        rows: Math.min(12, Math.max(3, initialText.split("\n").length + 1)),
        [SUPPRESS]: "true",
        dir: "auto",
        spellcheck: json ? "false" : null,
        placeholder: "Ctrl+Enter to save, Escape to cancel",
      },
    });
    this.textarea.value = initialText;
    this.roleSelect = null;
    const controls: HTMLElement[] = [];
    if (mode === "insert") {
      const sel = h("select", { className: "rnb-role-select", attrs: { "aria-label": "Role", [SUPPRESS]: "true" } });
      for (const r of ROLES) sel.append(h("option", { text: r, attrs: { value: r } }));
      this.roleSelect = sel;
      controls.push(h("label", { className: "rnb-role-label" }, ["role ", sel]));
    }
    this.saveBtn = button("Save edit", "Save", "rnb-btn rnb-btn-primary");
    const cancel = button("Cancel edit", "Cancel", "rnb-btn");
    this.saveBtn.addEventListener("click", () => this.save());
    cancel.addEventListener("click", () => this.onCancel(this));
    this.errorBox = h("div", { className: "rnb-editor-errors", attrs: { "aria-live": "polite" } });
    this.noteBox = h("div", { className: "rnb-editor-note", attrs: { role: "status" } });
    this.el = h(
      "div",
      { className: "rnb-editor", attrs: { "data-mode": mode, "data-target": target } },
      [
        this.noteBox,
        ...controls,
        this.textarea,
        h("div", { className: "rnb-editor-actions" }, [
          this.saveBtn,
          cancel,
          h("span", { className: "rnb-pending", text: "saving\u2026", attrs: { "aria-live": "polite" } }),
        ]),
        this.errorBox,
      ],
    );
    this.textarea.addEventListener("keydown", (e) => this.onKey(e));
    this.textarea.addEventListener("input", () => this.sync());
    this.roleSelect?.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.onCancel(this);
      }
    });
    this.sync();
  }

  get role(): Role {
    const v = this.roleSelect?.value;
    return ROLES.find((r) => r === v) ?? "user";
  }

  save(): void {
    if (this.pendingRequest !== null || !this.canSave()) return;
    this.onSave(this);
  }

  setPending(requestId: string | null): void {
    this.pendingRequest = requestId;
    if (requestId !== null) this.error = null;
    this.sync();
  }

  setError(message: string | null): void {
    this.error = message;
    this.sync();
  }

  setLive(live: boolean): void {
    this.live = live;
    this.sync();
  }

  /** Its item was deleted (another view, a cell): keep the text, offer to insert it instead. */
  orphan(anchor: string): void {
    this.mode = "insert";
    this.target = anchor;
    this.note = "The item you were editing was deleted. Your text is kept: save inserts it as a new message here.";
    this.el.dataset.mode = "insert";
    this.el.dataset.target = anchor;
    this.el.dataset.orphan = "true";
    this.textarea.setAttribute("aria-label", "New item text");
    this.sync();
  }

  focus(): void {
    this.textarea.focus();
  }

  private canSave(): boolean {
    return this.live && this.textarea.value.trim() !== "";
  }

  private onKey(e: KeyboardEvent): void {
    if (e.isComposing) return;
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      this.onCancel(this);
    } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      e.stopPropagation();
      this.save();
    } else if (e.key === "Enter") {
      e.preventDefault(); // our own newline: Lab would cancel the browser's
      e.stopPropagation(); // and never a notebook shortcut
      insertNewline(this.textarea);
    }
  }

  private sync(): void {
    const pending = this.pendingRequest !== null;
    this.el.toggleAttribute("data-pending", pending);
    this.el.setAttribute("aria-busy", pending ? "true" : "false");
    this.textarea.readOnly = pending;
    this.saveBtn.disabled = pending || !this.live;
    this.noteBox.textContent = this.note ?? "";
    this.noteBox.hidden = !this.note;
    const warning = this.json && this.textarea.value.trim() ? jsonProblem(this.textarea.value) : null;
    const boxes: HTMLElement[] = [];
    if (warning) {
      boxes.push(h("div", { className: "rnb-warning", text: `Not valid JSON (${warning}); you can still save it.`, attrs: { role: "status" } }));
    }
    if (this.error) boxes.push(h("div", { className: "rnb-error", text: this.error, attrs: { role: "alert" } }));
    this.errorBox.replaceChildren(...boxes);
  }
}

/** The composer at the bottom: send a user message, ask for / stop a response. Its buttons
 * follow the state: send needs text, respond is off while a response runs, stop is on only
 * then, and everything is off when the session or the kernel is gone. */
export class Composer {
  readonly el: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  readonly sendBtn: HTMLButtonElement;
  readonly respondBtn: HTMLButtonElement;
  readonly stopBtn: HTMLButtonElement;
  private readonly errorBox: HTMLElement;
  private readonly pendingEl: HTMLElement;
  pendingSend: string | null = null;
  private state: ControlState = { live: true, reason: "", responding: false };

  constructor(actions: { send(text: string, respond: boolean): void; respond(): void; cancel(): void }) {
    this.textarea = h("textarea", {
      className: "rnb-composer-text",
      attrs: {
        "aria-label": "Message",
        rows: 2,
        dir: "auto",
        placeholder: "Message \u2014 Enter to send, Shift+Enter for a new line, Ctrl+Enter to send and get an answer",
        [SUPPRESS]: "true",
      },
    });
    this.sendBtn = button("Send message", "Send", "rnb-btn rnb-btn-primary");
    this.respondBtn = button("Ask for a response", "Respond", "rnb-btn");
    this.stopBtn = button("Stop response", "Stop", "rnb-btn rnb-btn-stop");
    this.errorBox = h("div", { className: "rnb-composer-errors", attrs: { "aria-live": "polite" } });
    this.pendingEl = h("span", { className: "rnb-pending", text: "sending\u2026" });
    this.el = h("div", { className: "rnb-composer" }, [
      this.textarea,
      h("div", { className: "rnb-composer-actions" }, [this.sendBtn, this.respondBtn, this.stopBtn, this.pendingEl]),
      this.errorBox,
    ]);
    const doSend = (respond: boolean): void => {
      if (this.pendingSend !== null || !this.state.live) return;
      const text = this.textarea.value;
      if (!text.trim()) {
        if (respond && !this.state.responding) actions.respond();
        return;
      }
      if (respond && this.state.responding) return;
      actions.send(text, respond);
    };
    this.sendBtn.addEventListener("click", () => doSend(false));
    this.respondBtn.addEventListener("click", () => {
      if (this.state.live && !this.state.responding) actions.respond();
    });
    this.stopBtn.addEventListener("click", () => {
      if (this.state.live && this.state.responding) actions.cancel();
    });
    this.textarea.addEventListener("input", () => this.sync());
    this.textarea.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.isComposing) return;
      e.stopPropagation();
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) doSend(true);
      else if (e.shiftKey) insertNewline(this.textarea);
      else doSend(false);
    });
    this.sync();
  }

  setPending(requestId: string | null): void {
    this.pendingSend = requestId;
    this.sync();
  }

  setControls(state: ControlState): void {
    this.state = state;
    this.sync();
  }

  clear(): void {
    this.textarea.value = "";
    this.sync();
  }

  setError(message: string | null): void {
    this.errorBox.replaceChildren(
      ...(message ? [h("div", { className: "rnb-error", text: message, attrs: { role: "alert" } })] : []),
    );
  }

  private sync(): void {
    const pending = this.pendingSend !== null;
    const { live, responding } = this.state;
    this.el.toggleAttribute("data-pending", pending);
    this.el.toggleAttribute("data-responding", responding);
    this.textarea.readOnly = pending;
    this.textarea.disabled = !live;
    this.sendBtn.disabled = !live || pending;
    this.respondBtn.disabled = !live || responding;
    this.stopBtn.disabled = !live || !responding;
    this.pendingEl.hidden = !pending;
  }
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
