// One view of the widget: wires the model's messages and traits to the store, the virtual
// list, the log panel and the editors. Each view keeps its own state and asks for its own
// snapshot, so several views of one model stay consistent independently.

import { DeltaCoalescer, type FrameScheduler, type MergedDelta, animationFrameScheduler } from "./coalesce";
import { JOURNAL_REQUEST_ID, ROOT } from "./constants";
import { Actions } from "./editor";
import { button, h, setAttr } from "./dom";
import { LogPanel } from "./log";
import { newRequestId, parseKernelMsgs } from "./protocol";
import { type RowError, createRow, errorElement, updateRow } from "./row";
import { ConversationStore, type StoreChange } from "./store";
import { SnapshotGate } from "./sync";
import { journalOf } from "./journal";
import type { ErrorView, FrontMsg, KernelMsg, ModelLike } from "./types";
import { VirtualList } from "./virtual";

export interface ViewOptions {
  scheduler?: FrameScheduler;
  newId?: () => string;
  /** Estimated row height (px). */
  estimate?: number;
  overscan?: number;
}

const TRAITS = ["status", "endpoint", "dialect"] as const;
const MAX_ERRORS = 200;
const STATUSES = new Set(["connecting", "open", "reconnecting", "closed", "error"]);

interface KernelError {
  key: string;
  error: ErrorView;
}

export class ConversationView {
  readonly root: HTMLElement;
  readonly store = new ConversationStore();
  readonly gate = new SnapshotGate();
  readonly list: VirtualList;
  readonly log: LogPanel;
  readonly actions: Actions;
  readonly coalescer: DeltaCoalescer;
  private readonly scheduler: FrameScheduler;
  private readonly expanded = new Set<string>();
  private errors: KernelError[] = [];
  private errorSeq = 0;
  private loaded = false;
  private paintHandle: number | null = null;
  private destroyed = false;

  // header / chrome
  private readonly statusEl: HTMLElement;
  private readonly endpointEl: HTMLElement;
  private readonly dialectEl: HTMLElement;
  private readonly itemCountEl: HTMLElement;
  private readonly eventCountEl: HTMLElement;
  private readonly logToggle: HTMLButtonElement;
  private readonly topEditorSlot: HTMLElement;
  private readonly errorArea: HTMLElement;
  private readonly placeholder: HTMLElement;
  private readonly jumpBtn: HTMLButtonElement;
  private readonly handlers: [string, (...args: any[]) => void][] = [];

  constructor(
    private readonly model: ModelLike,
    private readonly host: HTMLElement,
    opts: ViewOptions = {},
  ) {
    this.scheduler = opts.scheduler ?? animationFrameScheduler;
    const newId = opts.newId ?? (() => newRequestId());
    this.gate.requestId = newId();

    this.coalescer = new DeltaCoalescer((d, inFrame) => this.applyDeltas(d, inFrame), this.scheduler);
    this.actions = new Actions({
      send: (msg) => this.send(msg),
      getItem: (id) => this.store.get(id)?.item,
      changed: (rowId) => this.rowChanged(rowId),
      newId,
    });
    this.list = new VirtualList(
      { count: () => this.store.size, keyAt: (i) => this.store.ids()[i] },
      {
        create: (key) => createRow(this.store.get(key)!, this.rowState(key)),
        update: (el, key) => {
          const entry = this.store.get(key);
          if (entry) updateRow(el, entry, this.rowState(key));
        },
      },
      {
        estimate: opts.estimate ?? 72,
        overscan: opts.overscan ?? 6,
        requestRender: () => this.schedulePaint(),
        onFollowChange: () => this.updateJump(),
      },
    );
    this.log = new LogPanel();

    // Header
    this.statusEl = h("span", { className: "rnb-status", attrs: { role: "status" } });
    this.endpointEl = h("span", { className: "rnb-endpoint" });
    this.dialectEl = h("span", { className: "rnb-dialect" });
    this.itemCountEl = h("span", { className: "rnb-count-items", text: "0" });
    this.eventCountEl = h("span", { className: "rnb-count-events", text: "0" });
    this.logToggle = button("Toggle event log", "log", "rnb-btn rnb-btn-small");
    setAttr(this.logToggle, "aria-pressed", "false");
    this.logToggle.addEventListener("click", () => {
      const open = this.log.toggle();
      setAttr(this.logToggle, "aria-pressed", open ? "true" : "false");
      // the kernel streams log entries only while some panel is open (PROTOCOL.md)
      this.send({ kind: "log_watch", view: this.gate.requestId ?? "", open });
    });
    const header = h("div", { className: "rnb-header" }, [
      this.statusEl,
      h("span", { className: "rnb-endpoint-wrap" }, [this.endpointEl, this.dialectEl]),
      h("span", { className: "rnb-counts" }, [
        this.itemCountEl,
        " items \u00b7 ",
        this.eventCountEl,
        " events",
      ]),
      this.logToggle,
    ]);

    const insertTop = button("Insert at top", "+ insert at top", "rnb-btn rnb-btn-small");
    insertTop.addEventListener("click", () => this.openEditor(() => this.actions.openInsert(ROOT)));
    const toolbar = h("div", { className: "rnb-toolbar" }, [insertTop]);
    this.topEditorSlot = h("div", { className: "rnb-top-editor" });
    this.errorArea = h("div", { className: "rnb-errors", attrs: { "aria-live": "polite" } });

    this.placeholder = h("div", { className: "rnb-placeholder", text: "Waiting for the kernel\u2026" });
    this.jumpBtn = button("Jump to latest", "\u2193 latest", "rnb-btn rnb-jump");
    this.jumpBtn.hidden = true;
    this.jumpBtn.addEventListener("click", () => {
      this.list.jumpToLatest();
      this.updateJump();
    });
    const listWrap = h("div", { className: "rnb-list-wrap" }, [
      this.list.viewport,
      this.placeholder,
      this.jumpBtn,
    ]);

    this.root = h("div", { className: "rnb-root", attrs: { "data-loaded": "false" } }, [
      header,
      toolbar,
      this.topEditorSlot,
      this.errorArea,
      listWrap,
      this.log.el,
      this.actions.composer.el,
    ]);
    this.root.addEventListener("click", this.onClick);
    this.root.addEventListener("keydown", this.onKeydown);
  }

  /** Mount, subscribe, and start from the model's journal (see journal.ts); without one,
   * ask the kernel for this view's snapshot. */
  start(): void {
    this.host.append(this.root);
    const journal = journalOf(this.model);
    const replay = journal ? journal.replay() : [];
    for (const m of replay) for (const x of this.gate.receive(m)) this.apply(x);
    this.listen("msg:custom", (msg: unknown) => this.receive(msg));
    for (const t of TRAITS) this.listen(`change:${t}`, () => this.updateHeader());
    this.updateHeader();
    this.paintNow();
    if (replay.length === 0) {
      this.send({ kind: "snapshot_request", request_id: this.gate.requestId ?? undefined });
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.log.open) this.send({ kind: "log_watch", view: this.gate.requestId ?? "", open: false });
    for (const [ev, cb] of this.handlers) this.model.off(ev, cb);
    this.handlers.length = 0;
    this.coalescer.clear();
    if (this.paintHandle !== null) this.scheduler.cancel(this.paintHandle);
    this.paintHandle = null;
    this.list.destroy();
    this.root.removeEventListener("click", this.onClick);
    this.root.removeEventListener("keydown", this.onKeydown);
    this.root.remove();
  }

  /** Feed one raw `msg:custom` payload (what the model's handler receives). */
  receive(raw: unknown): void {
    if (this.destroyed) return;
    for (const msg of parseKernelMsgs(raw)) for (const m of this.gate.receive(msg)) this.apply(m);
  }

  /** Paint now (cancels a scheduled paint). */
  paintNow(): void {
    if (this.paintHandle !== null) {
      this.scheduler.cancel(this.paintHandle);
      this.paintHandle = null;
    }
    this.paint();
  }

  // -- messages -----------------------------------------------------------------------------

  private apply(m: KernelMsg): void {
    switch (m.kind) {
      case "snapshot":
        // the kernel forgets log subscriptions on a journal snapshot: still open, say so again
        if (m.request_id === JOURNAL_REQUEST_ID && this.log.open) {
          this.send({ kind: "log_watch", view: this.gate.requestId ?? "", open: true });
        }
        this.coalescer.clear();
        this.store.reset(m.items);
        this.errors = m.errors.slice(-MAX_ERRORS).map((error) => ({ key: `k${this.errorSeq++}`, error }));
        this.log.reset(m.log);
        this.log.model.total = m.events ?? null;
        this.actions.reset((id) => this.store.has(id));
        for (const id of [...this.expanded]) if (!this.store.has(id)) this.expanded.delete(id);
        this.list.pruneHeights((id) => this.store.has(id));
        this.list.invalidateAll();
        this.loaded = true;
        break;
      case "delta":
        this.coalescer.push(m);
        return; // painted by the coalescer's frame
      case "inserted":
      case "updated":
      case "removed": {
        this.coalescer.flush();
        this.markChanges(this.store.apply(m));
        if (m.kind === "removed") {
          this.actions.itemRemoved(m.item_id);
          this.expanded.delete(m.item_id);
        }
        break;
      }
      case "error": {
        this.errors.push({ key: `k${this.errorSeq++}`, error: m.error });
        if (this.errors.length > MAX_ERRORS) this.errors.splice(0, this.errors.length - MAX_ERRORS);
        const id = m.error.item_id;
        if (id && this.store.has(id)) this.list.invalidateRow(id);
        break;
      }
      case "log":
        if (!m.reset) this.log.add(m.entries);
        else if (m.request_id === this.gate.requestId) this.log.replace(m.entries);
        break;
      case "counts":
        this.log.model.total = m.events;
        this.updateCounts();
        break;
      case "result":
        this.actions.handleResult(m);
        break;
    }
    this.schedulePaint();
  }

  private applyDeltas(deltas: MergedDelta[], inFrame: boolean): void {
    for (const d of deltas) this.markChanges(this.store.applyDelta(d));
    if (inFrame) this.paintNow();
    else this.schedulePaint();
  }

  private markChanges(changes: StoreChange[]): void {
    for (const c of changes) {
      if (c.kind === "structure") this.list.invalidateStructure();
      else this.list.invalidateRow(c.id);
    }
  }

  private send(msg: FrontMsg): void {
    this.model.send(msg);
  }

  private listen(ev: string, cb: (...args: any[]) => void): void {
    this.model.on(ev, cb);
    this.handlers.push([ev, cb]);
  }

  // -- painting -----------------------------------------------------------------------------

  private schedulePaint(): void {
    if (this.paintHandle !== null || this.destroyed) return;
    this.paintHandle = this.scheduler.request(() => {
      this.paintHandle = null;
      this.paint();
    });
  }

  private paint(): void {
    if (this.destroyed) return;
    this.root.dataset.loaded = this.loaded ? "true" : "false";
    this.placeholder.hidden = this.loaded && this.store.size > 0;
    this.placeholder.textContent = this.loaded ? "No items yet" : "Waiting for the kernel\u2026";
    this.list.render();
    this.paintTop();
    this.updateJump();
    this.updateCounts();
    this.log.paint();
  }

  private paintTop(): void {
    const top = this.actions.editorFor(ROOT);
    if (top) {
      if (this.topEditorSlot.firstChild !== top) this.topEditorSlot.replaceChildren(top);
    } else if (this.topEditorSlot.firstChild) {
      this.topEditorSlot.replaceChildren();
    }
    // Errors that no shown item claims go to the top of the list.
    const orphan = this.errors.filter((e) => !e.error.item_id || !this.store.has(e.error.item_id));
    const keys = orphan.map((e) => e.key).join(",");
    if (this.errorArea.dataset.keys !== keys) {
      this.errorArea.dataset.keys = keys;
      this.errorArea.replaceChildren(...orphan.map((e) => errorElement(toRowError(e))));
    }
  }

  private updateJump(): void {
    this.jumpBtn.hidden = !this.list.follow.showJump(this.store.size > 0);
  }

  private updateHeader(): void {
    const status = str(this.model.get("status")) || "connecting";
    this.statusEl.textContent = status;
    setAttr(this.statusEl, "data-status", STATUSES.has(status) ? status : "unknown");
    setAttr(this.statusEl, "aria-label", `connection ${status}`);
    const endpoint = str(this.model.get("endpoint"));
    this.endpointEl.textContent = endpoint;
    this.endpointEl.title = endpoint;
    const dialect = str(this.model.get("dialect"));
    this.dialectEl.textContent = dialect;
    this.dialectEl.hidden = !dialect;
    this.updateCounts();
  }

  private updateCounts(): void {
    this.itemCountEl.textContent = String(this.store.size);
    this.eventCountEl.textContent = String(this.log.model.count);
  }

  // -- rows ---------------------------------------------------------------------------------

  private rowState(id: string): { expanded: boolean; errors: RowError[]; editor: HTMLElement | null } {
    const errors: RowError[] = [];
    for (const e of this.errors) if (e.error.item_id === id) errors.push(toRowError(e));
    const actionError = this.actions.rowErrors.get(id);
    if (actionError) errors.push({ message: actionError, key: `a:${id}` });
    return { expanded: this.expanded.has(id), errors, editor: this.actions.editorFor(id) };
  }

  private rowChanged(rowId: string | null): void {
    if (rowId !== null && this.store.has(rowId)) this.list.invalidateRow(rowId);
    this.schedulePaint();
  }

  private openEditor(open: () => { focus(): void } | null): void {
    const ed = open();
    this.paintNow();
    ed?.focus();
  }

  private onClick = (e: MouseEvent): void => {
    const target = e.target as Element | null;
    const btn = target?.closest<HTMLElement>("[data-action]");
    if (!btn || !this.root.contains(btn)) return;
    const row = btn.closest<HTMLElement>(".rnb-item");
    const id = row?.dataset.itemId;
    switch (btn.dataset.action) {
      case "details":
        if (!id) return;
        if (this.expanded.has(id)) this.expanded.delete(id);
        else this.expanded.add(id);
        this.list.invalidateRow(id);
        this.paintNow();
        break;
      case "edit":
        if (id) this.openEditor(() => this.actions.openEdit(id));
        break;
      case "insert-after":
        if (id) this.openEditor(() => this.actions.openInsert(id));
        break;
      case "delete":
        if (id) this.actions.delete(id);
        break;
      case "dismiss-error": {
        const key = btn.dataset.errorKey ?? "";
        if (key.startsWith("a:")) {
          this.actions.dismissRowError(key.slice(2));
        } else {
          const i = this.errors.findIndex((x) => x.key === key);
          if (i >= 0) {
            const [gone] = this.errors.splice(i, 1);
            const itemId = gone?.error.item_id;
            if (itemId && this.store.has(itemId)) this.list.invalidateRow(itemId);
          }
        }
        this.paintNow();
        break;
      }
    }
  };

  private onKeydown = (e: KeyboardEvent): void => {
    const target = e.target as HTMLElement | null;
    if (!target || !target.classList.contains("rnb-item")) return;
    const id = target.dataset.itemId;
    if (!id) return;
    const i = this.store.indexOf(id);
    let next = -1;
    if (e.key === "ArrowDown") next = i + 1;
    else if (e.key === "ArrowUp") next = i - 1;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = this.store.size - 1;
    else return;
    e.preventDefault();
    e.stopPropagation();
    this.list.scrollToIndex(next)?.focus();
  };
}

function toRowError(e: KernelError): RowError {
  return { message: e.error.message, code: e.error.code, key: e.key };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v === null || v === undefined ? "" : String(v);
}
