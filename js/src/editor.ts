// Edit / insert editors, the composer, and the bookkeeping of front-end actions.
//
// Every action sends one message with a fresh request_id and waits for the kernel's `result`
// with that id. Nothing here changes the list: an accepted action shows up through the
// `inserted` / `removed` / `updated` messages that follow (no optimistic changes).
// Results for request ids this view did not send (another view's) are ignored.

import { ROOT } from "./constants";
import { button, h } from "./dom";
import { newRequestId } from "./protocol";
import { editText } from "./row";
import type { FrontMsg, ItemView, ResultMsg, Role } from "./types";

export interface ActionDeps {
  send(msg: FrontMsg): void;
  /** Item lookup for the editor's initial text. */
  getItem(id: string): ItemView | undefined;
  /** An editor or an action error of this row changed (null = the top of the list). */
  changed(rowId: string | null): void;
  /** A request id generator (tests inject a deterministic one). */
  newId?: () => string;
}

const ROLES: readonly Role[] = ["user", "system", "assistant"];

/** Lumino skips keyboard shortcuts for events inside elements with this attribute. */
const SUPPRESS = "data-lm-suppress-shortcuts";

export type EditorMode = "edit" | "insert";

/** One open editor: edit of an item, or insert after an item (or at the top). */
export class Editor {
  readonly el: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  readonly roleSelect: HTMLSelectElement | null;
  private readonly saveBtn: HTMLButtonElement;
  private readonly errorBox: HTMLElement;
  pendingRequest: string | null = null;
  error: string | null = null;

  constructor(
    readonly mode: EditorMode,
    /** edit: the item's id; insert: the anchor id or "root". */
    readonly target: string,
    initialText: string,
    private readonly onSave: (ed: Editor) => void,
    private readonly onCancel: (ed: Editor) => void,
  ) {
    this.textarea = h("textarea", {
      className: "rnb-editor-text",
      attrs: {
        "aria-label": mode === "edit" ? "Edit text" : "New item text",
        rows: Math.min(12, Math.max(3, initialText.split("\n").length + 1)),
        [SUPPRESS]: "true",
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
    this.saveBtn = button("Save edit", "save", "rnb-btn rnb-btn-primary");
    const cancel = button("Cancel edit", "cancel", "rnb-btn");
    this.saveBtn.addEventListener("click", () => this.save());
    cancel.addEventListener("click", () => this.onCancel(this));
    this.errorBox = h("div", { className: "rnb-editor-errors", attrs: { "aria-live": "polite" } });
    this.el = h(
      "div",
      { className: "rnb-editor", attrs: { "data-mode": mode, "data-target": target } },
      [
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
    if (this.pendingRequest !== null) return;
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

  focus(): void {
    this.textarea.focus();
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      this.onCancel(this);
    } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) {
      e.preventDefault();
      e.stopPropagation();
      this.save();
    } else if (e.key === "Enter") {
      e.stopPropagation(); // a newline, never a notebook shortcut
    }
  }

  private sync(): void {
    const pending = this.pendingRequest !== null;
    this.el.toggleAttribute("data-pending", pending);
    this.el.setAttribute("aria-busy", pending ? "true" : "false");
    this.textarea.readOnly = pending;
    this.saveBtn.disabled = pending;
    if (this.error) {
      this.errorBox.replaceChildren(
        h("div", { className: "rnb-error", text: this.error, attrs: { role: "alert" } }),
      );
    } else {
      this.errorBox.replaceChildren();
    }
  }
}

/** The composer at the bottom: send a user message, ask for / stop a response. */
export class Composer {
  readonly el: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  private readonly sendBtn: HTMLButtonElement;
  private readonly errorBox: HTMLElement;
  pendingSend: string | null = null;

  constructor(actions: {
    send(text: string): void;
    respond(): void;
    cancel(): void;
  }) {
    this.textarea = h("textarea", {
      className: "rnb-composer-text",
      attrs: {
        "aria-label": "Message",
        rows: 2,
        placeholder: "Message \u2014 Enter to send, Shift+Enter for a new line, Ctrl+Enter to ask for a response",
        [SUPPRESS]: "true",
      },
    });
    this.sendBtn = button("Send message", "send", "rnb-btn rnb-btn-primary");
    const respond = button("Ask for a response", "respond", "rnb-btn");
    const stop = button("Stop response", "stop", "rnb-btn");
    this.errorBox = h("div", { className: "rnb-composer-errors", attrs: { "aria-live": "polite" } });
    this.el = h("div", { className: "rnb-composer" }, [
      this.textarea,
      h("div", { className: "rnb-composer-actions" }, [
        this.sendBtn,
        respond,
        stop,
        h("span", { className: "rnb-pending", text: "sending\u2026" }),
      ]),
      this.errorBox,
    ]);
    const doSend = (): void => {
      if (this.pendingSend !== null) return;
      const text = this.textarea.value;
      if (!text.trim()) return;
      actions.send(text);
    };
    this.sendBtn.addEventListener("click", doSend);
    respond.addEventListener("click", () => actions.respond());
    stop.addEventListener("click", () => actions.cancel());
    this.textarea.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.isComposing) return;
      e.stopPropagation();
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        actions.respond();
      } else if (!e.shiftKey) {
        e.preventDefault();
        doSend();
      }
    });
  }

  setPending(requestId: string | null): void {
    this.pendingSend = requestId;
    const pending = requestId !== null;
    this.el.toggleAttribute("data-pending", pending);
    this.textarea.readOnly = pending;
    this.sendBtn.disabled = pending;
  }

  clear(): void {
    this.textarea.value = "";
  }

  setError(message: string | null): void {
    this.errorBox.replaceChildren(
      ...(message ? [h("div", { className: "rnb-error", text: message, attrs: { role: "alert" } })] : []),
    );
  }
}

interface Pending {
  kind: "editor" | "delete" | "send" | "respond" | "cancel";
  editor?: Editor;
  itemId?: string;
}

/** All editors of one view, the composer, and the pending requests of this view. */
export class Actions {
  /** Open editors by row id ("root" = the top editor). One per row. */
  readonly editors = new Map<string, Editor>();
  /** Rejected actions by item id (delete), shown next to the item. */
  readonly rowErrors = new Map<string, string>();
  readonly composer: Composer;
  private readonly pending = new Map<string, Pending>();
  private readonly newId: () => string;

  constructor(private readonly deps: ActionDeps) {
    this.newId = deps.newId ?? (() => newRequestId());
    this.composer = new Composer({
      send: (text) => {
        const request_id = this.request({ kind: "send" });
        this.composer.setPending(request_id);
        this.composer.setError(null);
        this.deps.send({ kind: "send", request_id, text });
      },
      respond: () => {
        const request_id = this.request({ kind: "respond" });
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
    return this.open("edit", itemId, itemId, editText(item));
  }

  openInsert(anchor: string): Editor {
    return this.open("insert", anchor, anchor, "");
  }

  delete(itemId: string): void {
    const request_id = this.request({ kind: "delete", itemId });
    if (this.rowErrors.delete(itemId)) this.deps.changed(itemId);
    this.deps.send({ kind: "delete", request_id, item_id: itemId });
  }

  close(rowId: string): void {
    const ed = this.editors.get(rowId);
    if (!ed) return;
    if (ed.pendingRequest !== null) this.pending.delete(ed.pendingRequest);
    this.editors.delete(rowId);
    this.deps.changed(rowId === ROOT ? null : rowId);
  }

  dismissRowError(itemId: string): void {
    if (this.rowErrors.delete(itemId)) this.deps.changed(itemId);
  }

  /** An item disappeared: forget an idle editor on it (a pending one waits for its result). */
  itemRemoved(itemId: string): void {
    const ed = this.editors.get(itemId);
    if (ed && ed.pendingRequest === null) this.editors.delete(itemId);
    this.rowErrors.delete(itemId);
  }

  /** A new snapshot: forget idle editors and errors of items that are gone. */
  reset(exists: (id: string) => boolean): void {
    for (const [rowId, ed] of [...this.editors]) {
      if (rowId !== ROOT && ed.pendingRequest === null && !exists(rowId)) this.editors.delete(rowId);
    }
    for (const id of [...this.rowErrors.keys()]) if (!exists(id)) this.rowErrors.delete(id);
  }

  /** Handle a `result`; returns false when it is not for this view. */
  handleResult(r: ResultMsg): boolean {
    const p = this.pending.get(r.request_id);
    if (!p) return false;
    this.pending.delete(r.request_id);
    const message = r.error ?? (r.field ? `rejected (${r.field})` : "rejected");
    switch (p.kind) {
      case "editor": {
        const ed = p.editor!;
        const rowId = ed.target;
        if (this.editors.get(rowId) !== ed) return true; // closed meanwhile
        if (r.ok) {
          this.editors.delete(rowId);
        } else {
          ed.setPending(null);
          ed.setError(message);
        }
        this.deps.changed(rowId === ROOT ? null : rowId);
        return true;
      }
      case "delete":
        if (!r.ok && p.itemId) {
          this.rowErrors.set(p.itemId, message);
          this.deps.changed(p.itemId);
        }
        return true;
      case "send":
        this.composer.setPending(null);
        if (r.ok) {
          this.composer.clear();
          this.composer.setError(null);
        } else {
          this.composer.setError(message);
        }
        return true;
      case "respond":
      case "cancel":
        if (!r.ok) {
          this.composer.setError(`${p.kind === "respond" ? "response" : "stop"}: ${message}`);
        }
        return true;
    }
  }

  private open(mode: EditorMode, rowId: string, target: string, text: string): Editor {
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
      (e) => this.close(e.target),
    );
    this.editors.set(rowId, ed);
    this.deps.changed(rowId === ROOT ? null : rowId);
    return ed;
  }

  private save(ed: Editor): void {
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
    return id;
  }
}
