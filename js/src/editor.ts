// The edit / insert editor of one row (or the top of the list).
//
// Saving hands the text to the view's actions (actions.ts), which send it and wait for the
// kernel's answer; the editor only shows pending, errors, and the orphan note.

import { button, h } from "./dom";
import type { Role } from "./types";

const ROLES: readonly Role[] = ["user", "system", "assistant"];

/** Lumino skips keyboard shortcuts for events inside elements with this attribute. */
export const SUPPRESS = "data-lm-suppress-shortcuts";

/** Keep JupyterLab from eating Shift+Enter's newline: on keydown in a notebook cell, Lab adds
 * a `beforeinput` listener that cancels `insertLineBreak`. Insert the newline ourselves. */
export function insertNewline(ta: HTMLTextAreaElement): void {
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

