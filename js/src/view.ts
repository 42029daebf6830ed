// One view of the widget: wires the model's messages and traits to the store, the virtual
// list, the log and session panels and the editors. Each view keeps its own state and asks for
// its own snapshot, so several views of one model stay consistent independently.

import { Actions } from "./actions";
import { VoiceBar } from "./audio/ui";
import { copyToClipboard } from "./clipboard";
import { DeltaCoalescer, type FrameScheduler, type MergedDelta, animationFrameScheduler } from "./coalesce";
import { JOURNAL_REQUEST_ID, ROOT } from "./constants";
import { button, h } from "./dom";
import { ErrorBook, type KernelError, TOP_ERRORS } from "./errorbook";
import { rowKeyTarget } from "./follow";
import { Header } from "./header";
import { journalOf } from "./journal";
import { type KernelWatch, watchKernel } from "./kernel";
import { LogPanel } from "./log";
import { newRequestId, parseKernelMsgs } from "./protocol";
import { type RowError, type RowState, copyText, createRow, errorElement, updateRow } from "./row";
import { SessionPanel } from "./session";
import { ConversationStore, type StoreChange } from "./store";
import { SnapshotGate } from "./sync";
import type { ControlState, ErrorView, FrontMsg, KernelMsg, ModelLike } from "./types";
import { ToolPanel } from "./tools/panel";
import { VirtualList } from "./virtual";

export interface ViewOptions {
  scheduler?: FrameScheduler;
  newId?: () => string;
  /** Estimated row height (px). */
  estimate?: number;
  overscan?: number;
}

const TRAITS = ["status", "endpoint", "dialect", "provider", "model_label", "status_reason", "responding", "session"] as const;
const FLASH_MS = 1600;

export class ConversationView {
  readonly root: HTMLElement;
  /** Push-to-talk, hands-free, level meter, play buttons (the audio itself is per model). */
  readonly voice: VoiceBar;
  readonly store = new ConversationStore();
  readonly gate = new SnapshotGate();
  readonly list: VirtualList;
  readonly log: LogPanel;
  readonly session: SessionPanel;
  readonly header: Header;
  readonly actions: Actions;
  readonly coalescer: DeltaCoalescer;
  readonly tools: ToolPanel;
  private readonly scheduler: FrameScheduler;
  private readonly expanded = new Set<string>();
  private readonly raw = new Set<string>();
  private readonly full = new Set<string>();
  private readonly errors = new ErrorBook();
  private loaded = false;
  private paintHandle: number | null = null;
  private destroyed = false;
  private kernel: KernelWatch | null = null;
  private controls: ControlState = { live: true, reason: "", responding: false };
  /** The row that takes Tab (roving tabindex); arrows move it. Until the reader picks one,
   * the last row. `tabRow` is the one rows were last rendered with. */
  private current: string | null = null;
  private tabRow: string | null = null;
  /** An item an action created: shown (scrolled to, highlighted) once it arrives. */
  private reveal: { id: string; until: number } | null = null;
  private flash: { id: string; until: number } | null = null;

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
      created: (id) => {
        this.reveal = { id, until: Date.now() + 15_000 };
        this.schedulePaint();
      },
      sessionResult: (ok, error, field) => this.session.result(ok, error, field),
      timeout: () => {
        const t = this.model.get("action_timeout");
        return typeof t === "number" && t > 0 ? t : 30;
      },
      busy: () => this.kernel?.busy === true,
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
        estimate: opts.estimate ?? 64,
        overscan: opts.overscan ?? 6,
        requestRender: () => this.schedulePaint(),
        onFollowChange: () => this.updateJump(),
      },
    );
    this.tools = new ToolPanel({
      send: (msg) => this.send(msg),
      changed: (itemId) => this.rowChanged(itemId),
      newId,
      timeout: () => {
        const t = this.model.get("action_timeout");
        return typeof t === "number" && t > 0 ? t : 30;
      },
      busy: () => this.kernel?.busy === true,
    });
    this.log = new LogPanel();
    this.session = new SessionPanel((fields) => {
      this.session.pending = this.actions.session(fields);
    });
    this.header = new Header();
    this.header.logToggle.addEventListener("click", () => {
      const open = this.log.toggle();
      this.header.logToggle.setAttribute("aria-pressed", open ? "true" : "false");
      // the kernel streams log entries only while some panel is open (PROTOCOL.md)
      this.send({ kind: "log_watch", view: this.gate.requestId ?? "", open });
    });
    this.header.sessionToggle.addEventListener("click", () => {
      const open = this.session.toggle();
      this.header.sessionToggle.setAttribute("aria-pressed", open ? "true" : "false");
    });

    const insertTop = button("Insert at top", "+ Insert at top", "rnb-btn rnb-btn-small rnb-btn-quiet");
    insertTop.dataset.action = "insert-top";
    const toolbar = h("div", { className: "rnb-toolbar" }, [insertTop]);
    this.topEditorSlot = h("div", { className: "rnb-top-editor" });
    this.errorArea = h("div", { className: "rnb-errors", attrs: { "aria-live": "polite" } });

    this.placeholder = h("div", { className: "rnb-placeholder", text: "Waiting for the kernel\u2026" });
    this.jumpBtn = button("Jump to latest", "\u2193 Jump to latest", "rnb-btn rnb-btn-small rnb-jump");
    this.jumpBtn.hidden = true;
    this.jumpBtn.addEventListener("click", () => {
      this.list.jumpToLatest();
      this.updateJump();
    });
    const listWrap = h("div", { className: "rnb-list-wrap" }, [this.list.viewport, this.placeholder]);

    this.root = h("div", { className: "rnb-root", attrs: { "data-loaded": "false" } }, [
      this.header.el,
      this.header.notice,
      this.session.el,
      toolbar,
      this.topEditorSlot,
      this.errorArea,
      listWrap,
      h("div", { className: "rnb-jump-bar" }, [this.jumpBtn]),
      this.log.el,
      this.actions.composer.el,
    ]);
    this.root.addEventListener("click", this.onClick);
    this.root.addEventListener("keydown", this.onKeydown);
    this.voice = new VoiceBar(this.model, this.root);
    this.root.insertBefore(this.voice.el, this.actions.composer.el);
  }

  /** Mount, subscribe, and start from the model's journal (see journal.ts); without one,
   * ask the kernel for this view's snapshot. */
  start(): void {
    this.host.append(this.root);
    const journal = journalOf(this.model);
    const replay = journal ? journal.replay() : [];
    for (const m of replay) for (const x of this.gate.receive(m)) this.apply(x);
    this.listen("msg:custom", (msg: unknown) => this.receive(msg));
    for (const t of TRAITS) this.listen(`change:${t}`, () => this.traitsChanged(t));
    // only a kernel that went away changes what is shown: "busy" is read when needed, and it
    // flips twice for every browser message (the microphone sends ~12 a second)
    let gone = "";
    this.kernel = watchKernel(this.model, () => {
      if (this.kernel && this.kernel.gone !== gone) {
        gone = this.kernel.gone;
        this.traitsChanged("kernel");
      }
    });
    gone = this.kernel.gone;
    this.session.setServer(this.sessionTrait());
    this.traitsChanged("status");
    this.paintNow();
    if (replay.length === 0) {
      this.send({ kind: "snapshot_request", request_id: this.gate.requestId ?? undefined });
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.log.open && !this.kernel?.gone) this.send({ kind: "log_watch", view: this.gate.requestId ?? "", open: false });
    for (const [ev, cb] of this.handlers) this.model.off(ev, cb);
    this.handlers.length = 0;
    this.kernel?.dispose();
    this.tools.destroy();
    this.coalescer.clear();
    if (this.paintHandle !== null) this.scheduler.cancel(this.paintHandle);
    this.paintHandle = null;
    this.list.destroy();
    this.root.removeEventListener("click", this.onClick);
    this.root.removeEventListener("keydown", this.onKeydown);
    this.voice.destroy();
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
        this.errors.reset(m.errors);
        this.log.reset(m.log);
        this.log.model.total = m.events ?? null;
        this.tools.reset(m);
        this.actions.reset((id) => this.store.has(id));
        for (const set of [this.expanded, this.raw, this.full]) for (const id of [...set]) if (!this.store.has(id)) set.delete(id);
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
        const prev = m.kind === "removed" ? this.store.prevOf(m.item_id) : null;
        this.markChanges(this.store.apply(m));
        if (m.kind === "removed") this.itemGone(m.item_id, prev);
        break;
      }
      case "error":
        this.addError(m.error);
        break;
      case "log":
        if (!m.reset) this.log.add(m.entries);
        else if (m.request_id === this.gate.requestId) this.log.replace(m.entries);
        break;
      case "counts":
        this.log.model.total = m.events;
        break;
      case "tool":
        this.tools.apply(m);
        break;
      case "result":
        if (!this.tools.handleResult(m)) this.actions.handleResult(m);
        break;
    }
    this.schedulePaint();
  }

  /** A kernel error goes where it belongs: the session panel, the composer, the item it is
   * about, or (none of those) the top of the list. */
  private addError(error: ErrorView): void {
    const kind = this.actions.kindOf(error.request_id);
    if (kind === "session" || (error.request_id !== null && error.request_id === this.session.pending)) {
      this.session.serverError(error);
      return;
    }
    if (kind === "send" || kind === "respond" || kind === "cancel") {
      this.actions.composer.setError(error.code ? `${error.message} (${error.code})` : error.message);
      return;
    }
    this.errors.add(error);
    const id = error.item_id;
    if (id && this.store.has(id)) this.list.invalidateRow(id);
  }

  private itemGone(id: string, prev: string | null): void {
    this.actions.itemRemoved(id, prev);
    this.expanded.delete(id);
    this.raw.delete(id);
    this.full.delete(id);
    this.errors.itemGone(id);
    if (this.current === id) this.current = prev;
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
    if (this.kernel?.gone) return; // nobody would answer
    this.model.send(msg);
  }

  private listen(ev: string, cb: (...args: any[]) => void): void {
    this.model.on(ev, cb);
    this.handlers.push([ev, cb]);
  }

  // -- state --------------------------------------------------------------------------------

  private sessionTrait(): Record<string, unknown> {
    const s = this.model.get("session");
    return s && typeof s === "object" && !Array.isArray(s) ? (s as Record<string, unknown>) : {};
  }

  private traitsChanged(name: string): void {
    if (name === "session") this.session.setServer(this.sessionTrait());
    const status = str(this.model.get("status")) || "connecting";
    const gone = this.kernel?.gone ?? "";
    const live = !gone && status !== "closed" && status !== "error";
    const responding = live && str(this.model.get("responding")) !== "";
    const before = this.controls;
    this.controls = { live, reason: gone || str(this.model.get("status_reason")), responding };
    this.actions.setControls(this.controls, gone);
    this.session.setLive(live);
    this.voice.setLive(live);
    if (before.live !== live) this.list.invalidateAll();
    this.root.toggleAttribute("data-disconnected", !!gone);
    this.schedulePaint();
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
    this.placeholder.textContent = this.loaded ? "No items yet: write a message below" : "Waiting for the kernel\u2026";
    this.revealCreated();
    const tabRow = this.current !== null && this.store.has(this.current) ? this.current : this.store.lastId();
    if (tabRow !== this.tabRow) {
      for (const id of [this.tabRow, tabRow]) if (id !== null && this.store.has(id)) this.list.invalidateRow(id);
      this.tabRow = tabRow;
    }
    this.list.render();
    // the list's one Tab stop must be a row that is there: follow the view when it scrolled away
    if (this.tabRow !== null && !this.list.rowElement(this.tabRow)) {
      const k = this.list.firstVisibleKey();
      if (k !== undefined && k !== this.tabRow) {
        this.setCurrent(k);
        this.list.render();
      }
    }
    this.paintTop();
    this.updateJump();
    this.header.update({
      status: str(this.model.get("status")) || "connecting",
      reason: str(this.model.get("status_reason")),
      kernelGone: this.kernel?.gone ?? "",
      responding: this.controls.responding,
      provider: str(this.model.get("provider")),
      model: str(this.model.get("model_label")) || str(this.sessionTrait().model),
      endpoint: str(this.model.get("endpoint")),
      dialect: str(this.model.get("dialect")),
      items: this.store.size,
      events: this.log.model.count,
    });
    this.log.paint();
  }

  /** Scroll to an item an action just created and highlight it briefly. */
  private revealCreated(): void {
    const r = this.reveal;
    if (!r) return;
    if (Date.now() > r.until) {
      this.reveal = null;
      return;
    }
    const i = this.store.indexOf(r.id);
    if (i < 0) return;
    this.reveal = null;
    this.flash = { id: r.id, until: Date.now() + FLASH_MS };
    this.current = r.id;
    this.list.invalidateRow(r.id);
    this.list.scrollToIndex(i);
    setTimeout(() => {
      if (this.flash?.id === r.id) {
        this.flash = null;
        if (this.store.has(r.id)) this.list.invalidateRow(r.id);
        this.schedulePaint();
      }
    }, FLASH_MS);
  }

  private paintTop(): void {
    const top = this.actions.editorFor(ROOT);
    if (top) {
      if (this.topEditorSlot.firstChild !== top) this.topEditorSlot.replaceChildren(top);
    } else if (this.topEditorSlot.firstChild) {
      this.topEditorSlot.replaceChildren();
    }
    // Errors that no shown item claims go to the top of the list: the newest few.
    const orphan = this.errors.orphans((id) => this.store.has(id));
    const shown = orphan.slice(-TOP_ERRORS);
    const keys = `${orphan.length}:${shown.map((e) => e.key).join(",")}`;
    if (this.errorArea.dataset.keys !== keys) {
      this.errorArea.dataset.keys = keys;
      const children: HTMLElement[] = shown.map((e) => errorElement(toRowError(e)));
      if (orphan.length > 1) {
        const all = button("Dismiss all errors", `Dismiss all (${orphan.length})`, "rnb-btn rnb-btn-small rnb-btn-quiet");
        all.dataset.action = "dismiss-all";
        children.push(all);
      }
      this.errorArea.replaceChildren(...children);
    }
  }

  private updateJump(): void {
    this.jumpBtn.hidden = !this.list.follow.showJump(this.store.size > 0);
  }

  // -- rows ---------------------------------------------------------------------------------

  private rowState(id: string): RowState {
    const errors: RowError[] = [];
    for (const e of this.errors.forItem(id)) errors.push(toRowError(e));
    const actionError = this.actions.rowErrors.get(id);
    if (actionError) errors.push({ message: actionError, key: `a:${id}` });
    return {
      expanded: this.expanded.has(id),
      errors,
      editor: this.actions.editorFor(id),
      raw: this.raw.has(id),
      full: this.full.has(id),
      live: this.controls.live,
      current: this.tabRow === id,
      flash: this.flash !== null && this.flash.id === id && Date.now() < this.flash.until,
      tool: this.tools.elementFor(id, this.controls.live),
    };
  }

  private rowChanged(rowId: string | null): void {
    if (rowId !== null && this.store.has(rowId)) this.list.invalidateRow(rowId);
    this.schedulePaint();
  }

  private openEditor(open: () => { focus(): void } | null): void {
    if (!this.controls.live) return;
    const ed = open();
    this.paintNow();
    ed?.focus();
  }

  private toggle(set: Set<string>, id: string): void {
    if (set.has(id)) set.delete(id);
    else set.add(id);
    this.list.invalidateRow(id);
    this.paintNow();
  }

  private onClick = (e: MouseEvent): void => {
    const target = e.target as Element | null;
    const btn = target?.closest<HTMLElement>("[data-action]");
    if (!btn || !this.root.contains(btn)) return;
    const row = btn.closest<HTMLElement>(".rnb-item");
    const id = row?.dataset.itemId;
    if (id) this.setCurrent(id);
    switch (btn.dataset.action) {
      case "details":
        if (id) this.toggle(this.expanded, id);
        break;
      case "raw":
        if (id) this.toggle(this.raw, id);
        break;
      case "toggle-long":
        if (id) this.toggle(this.full, id);
        break;
      case "copy": {
        const item = id ? this.store.get(id)?.item : undefined;
        if (item) copyToClipboard(copyText(item), btn);
        break;
      }
      case "copy-code": {
        const pre = btn.parentElement?.querySelector("pre");
        if (pre) copyToClipboard(pre.textContent ?? "", btn);
        break;
      }
      case "edit":
        if (id) this.openEditor(() => this.actions.openEdit(id));
        break;
      case "insert-after":
        if (id) this.openEditor(() => this.actions.openInsert(id));
        break;
      case "insert-top":
        this.openEditor(() => this.actions.openInsert(ROOT));
        break;
      case "delete":
        if (id && this.controls.live) this.actions.delete(id);
        break;
      case "dismiss-all":
        this.errors.dismissOrphans((x) => this.store.has(x));
        this.paintNow();
        break;
      case "dismiss-error": {
        const key = btn.dataset.errorKey ?? "";
        if (key.startsWith("a:")) {
          this.actions.dismissRowError(key.slice(2));
        } else {
          const itemId = this.errors.dismiss(key);
          if (itemId && this.store.has(itemId)) this.list.invalidateRow(itemId);
        }
        this.paintNow();
        break;
      }
    }
  };

  private setCurrent(id: string): void {
    this.current = id;
    if (id === this.tabRow) return;
    for (const x of [this.tabRow, id]) if (x !== null && this.store.has(x)) this.list.invalidateRow(x);
    this.tabRow = id;
    this.schedulePaint();
  }

  private onKeydown = (e: KeyboardEvent): void => {
    const target = e.target as HTMLElement | null;
    if (!target || !target.classList.contains("rnb-item")) return;
    const id = target.dataset.itemId;
    if (!id) return;
    const i = this.store.indexOf(id);
    const page = Math.max(1, Math.floor(this.list.viewport.clientHeight / 64));
    const next = rowKeyTarget(e.key, i, this.store.size, page);
    if (next === null) return;
    e.preventDefault();
    e.stopPropagation();
    const key = this.store.ids()[next];
    if (key === undefined) return;
    this.setCurrent(key);
    this.list.scrollToIndex(next)?.focus();
  };
}

function toRowError(e: KernelError): RowError {
  return { message: e.error.message, code: e.error.code, key: e.key };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v === null || v === undefined ? "" : String(v);
}
