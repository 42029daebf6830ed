// A virtualised vertical list: only the rows in view (plus overscan) are in the DOM; a spacer
// keeps the full scroll height. Row heights start at an estimate and are replaced by measured
// heights (cached by key). Only rows marked dirty are patched on a render.

import { h } from "./dom";
import { FollowState } from "./follow";

export interface VirtualSource {
  count(): number;
  keyAt(i: number): string | undefined;
}

export interface RowRenderer {
  create(key: string): HTMLElement;
  update(el: HTMLElement, key: string): void;
}

export interface VirtualOptions {
  /** Estimated row height in px before a row is measured. */
  estimate?: number;
  /** Extra rows rendered above and below the viewport. */
  overscan?: number;
  /** Viewport height to assume when layout reports 0 (not yet attached, jsdom). */
  fallbackViewport?: number;
  /** Called when the list wants a paint (scroll, size change): schedule render(). */
  requestRender?: () => void;
  /** Called when following turns on or off. */
  onFollowChange?: (following: boolean) => void;
}

/** The list's scroller is this custom element: its `connectedCallback` tells the list that it
 * was put back into the page. JupyterLab moves a cell's (or a panel's) DOM by removing and
 * re-inserting it in one go (moving a cell, its windowed notebook, splitting a panel); the
 * browser then resets the scroller to the top and fires neither a scroll nor a resize event,
 * so without this the list would sit at the top while it thinks it follows the bottom. */
export const SCROLLER_TAG = "rnb-scroller";
export const CONNECTED_EVENT = "rnb-connected";

function scroller(): HTMLElement {
  const reg = typeof customElements !== "undefined" ? customElements : null;
  if (reg && !reg.get(SCROLLER_TAG)) {
    reg.define(
      SCROLLER_TAG,
      class extends HTMLElement {
        connectedCallback(): void {
          this.dispatchEvent(new Event(CONNECTED_EVENT));
        }
      },
    );
  }
  return document.createElement(reg ? SCROLLER_TAG : "div");
}

export class VirtualList {
  readonly viewport: HTMLElement;
  readonly follow = new FollowState();
  private readonly spacer: HTMLElement;
  private readonly win: HTMLElement;
  private readonly rows = new Map<string, HTMLElement>();
  private readonly heights = new Map<string, number>();
  private offsets: Float64Array | null = null;
  private readonly dirty = new Set<string>();
  private allDirty = false;
  private start = 0;
  private end = 0; // exclusive
  private order: string[] = [];
  private readonly estimate: number;
  private readonly overscan: number;
  private readonly fallbackViewport: number;
  private readonly resizeObserver: ResizeObserver | null = null;
  /** Where the reader (or we) last put the scroller: put back when it is re-attached. */
  private lastTop = 0;

  constructor(
    private readonly source: VirtualSource,
    private readonly renderer: RowRenderer,
    private readonly opts: VirtualOptions = {},
  ) {
    this.estimate = opts.estimate ?? 64;
    this.overscan = opts.overscan ?? 8;
    this.fallbackViewport = opts.fallbackViewport ?? 480;
    this.win = h("div", { className: "rnb-list-window", attrs: { role: "list" } });
    this.spacer = h("div", { className: "rnb-list-spacer" }, [this.win]);
    this.viewport = scroller();
    this.viewport.className = "rnb-list";
    this.viewport.tabIndex = -1;
    this.viewport.append(this.spacer);
    this.viewport.addEventListener("scroll", this.onScroll, { passive: true });
    this.viewport.addEventListener(CONNECTED_EVENT, this.onConnected);
    if (typeof ResizeObserver === "function") {
      this.resizeObserver = new ResizeObserver(() => this.opts.requestRender?.());
      this.resizeObserver.observe(this.viewport);
    }
  }

  destroy(): void {
    this.viewport.removeEventListener("scroll", this.onScroll);
    this.viewport.removeEventListener(CONNECTED_EVENT, this.onConnected);
    this.resizeObserver?.disconnect();
  }

  /** Order or count changed. */
  invalidateStructure(): void {
    this.offsets = null;
  }

  /** One row's content changed. */
  invalidateRow(key: string): void {
    this.dirty.add(key);
  }

  /** Every rendered row must be re-rendered (e.g. errors changed). */
  invalidateAll(): void {
    this.allDirty = true;
  }

  /** Forget measured heights of keys that are gone (e.g. after a new snapshot). */
  pruneHeights(keep: (key: string) => boolean): void {
    for (const k of [...this.heights.keys()]) if (!keep(k)) this.heights.delete(k);
    this.offsets = null;
  }

  /** The rendered row element of `key`, if it is in the DOM. */
  rowElement(key: string): HTMLElement | undefined {
    return this.rows.get(key);
  }

  /** The key of the first row in view (not counting overscan). */
  firstVisibleKey(): string | undefined {
    return this.source.count() ? this.source.keyAt(this.indexAt(this.viewport.scrollTop)) : undefined;
  }

  renderedKeys(): string[] {
    return [...this.rows.keys()];
  }

  /** Rendered index range [start, end). */
  get range(): [number, number] {
    return [this.start, this.end];
  }

  /** Scroll to the bottom and follow new content again. */
  jumpToLatest(): void {
    this.follow.resume();
    this.opts.onFollowChange?.(true);
    this.render();
  }

  /** Make row `index` visible (rendered) and return its element. */
  scrollToIndex(index: number): HTMLElement | undefined {
    const n = this.source.count();
    if (index < 0 || index >= n) return undefined;
    const offsets = this.ensureOffsets();
    const top = offsets[index]!;
    const bottom = offsets[index + 1]!;
    const viewH = this.viewHeight();
    const st = this.viewport.scrollTop;
    if (top < st) {
      // Reading back in history: stop following the bottom.
      if (index < n - 1 && this.follow.following) {
        this.follow.following = false;
        this.opts.onFollowChange?.(false);
      }
      this.setScrollTop(top);
    }
    else if (bottom > st + viewH) this.setScrollTop(bottom - viewH);
    this.render();
    const key = this.source.keyAt(index);
    return key === undefined ? undefined : this.rows.get(key);
  }

  /** Bring the DOM up to date: visible range, dirty rows, heights, follow-scroll. */
  render(): void {
    this.pass();
    if (this.measure()) this.pass();
  }

  private pass(): void {
    const offsets = this.ensureOffsets();
    const n = this.source.count();
    const total = offsets[n] ?? 0;
    this.spacer.style.height = `${total}px`;
    const viewH = this.viewHeight();
    if (this.follow.following) {
      const bottom = Math.max(0, total - viewH);
      if (Math.abs(this.viewport.scrollTop - bottom) >= 1) this.setScrollTop(bottom);
    }
    const top = this.viewport.scrollTop;
    const first = this.indexAt(top);
    const lastVisible = this.indexAt(top + viewH);
    const start = Math.max(0, first - this.overscan);
    const end = Math.min(n, lastVisible + 1 + this.overscan);

    const keys: string[] = [];
    for (let i = start; i < end; i++) {
      const k = this.source.keyAt(i);
      if (k !== undefined) keys.push(k);
    }
    const wanted = new Set(keys);
    for (const [k, el] of this.rows) {
      if (!wanted.has(k)) {
        el.remove();
        this.rows.delete(k);
      }
    }
    const els: HTMLElement[] = [];
    for (const k of keys) {
      let el = this.rows.get(k);
      if (!el) {
        el = this.renderer.create(k);
        this.rows.set(k, el);
      } else if (this.allDirty || this.dirty.has(k)) {
        this.renderer.update(el, k);
      }
      els.push(el);
    }
    this.allDirty = false;
    this.dirty.clear();
    // Reorder with minimal moves (moving a focused node would blur it).
    let cursor: ChildNode | null = this.win.firstChild;
    for (const el of els) {
      if (el === cursor) cursor = cursor.nextSibling;
      else this.win.insertBefore(el, cursor);
    }
    while (cursor) {
      const next: ChildNode | null = cursor.nextSibling;
      cursor.remove();
      cursor = next;
    }
    this.start = start;
    this.end = end;
    this.order = keys;
    this.win.style.transform = `translateY(${offsets[start] ?? 0}px)`;
  }

  /** Read the heights of rendered rows; returns whether any changed. */
  private measure(): boolean {
    let changed = false;
    let anchorShift = 0;
    const firstVisible = this.indexAt(this.viewport.scrollTop);
    let i = this.start;
    for (const key of this.order) {
      const hgt = this.rows.get(key)?.offsetHeight ?? 0;
      if (hgt > 0) {
        const old = this.heights.get(key) ?? this.estimate;
        if (Math.abs(old - hgt) >= 0.5) {
          this.heights.set(key, hgt);
          changed = true;
          if (i < firstVisible) anchorShift += hgt - old;
        }
      }
      i++;
    }
    if (changed) {
      this.offsets = null;
      // Keep what the reader looks at in place when rows above it change height.
      if (!this.follow.following && anchorShift !== 0) {
        this.setScrollTop(this.viewport.scrollTop + anchorShift);
      }
    }
    return changed;
  }

  private viewHeight(): number {
    return this.viewport.clientHeight || this.fallbackViewport;
  }

  private setScrollTop(top: number): void {
    this.follow.programmatic(top);
    this.viewport.scrollTop = top;
    this.lastTop = top;
  }

  private ensureOffsets(): Float64Array {
    if (this.offsets) return this.offsets;
    const n = this.source.count();
    const offsets = new Float64Array(n + 1);
    let y = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = y;
      const k = this.source.keyAt(i);
      y += (k !== undefined ? this.heights.get(k) : undefined) ?? this.estimate;
    }
    offsets[n] = y;
    this.offsets = offsets;
    return offsets;
  }

  /** Index of the row containing y (clamped). */
  private indexAt(y: number): number {
    const offsets = this.ensureOffsets();
    const n = offsets.length - 1;
    if (n <= 0) return 0;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (offsets[mid]! <= y) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Put back into the page: the browser reset the scroll position (see SCROLLER_TAG). */
  private onConnected = (): void => {
    if (!this.follow.following && this.viewport.scrollTop !== this.lastTop) {
      this.setScrollTop(this.lastTop);
    }
    this.opts.requestRender?.(); // following: the next pass scrolls to the bottom again
  };

  private onScroll = (): void => {
    const v = this.viewport;
    if (v.isConnected && v.clientHeight > 0) this.lastTop = v.scrollTop;
    const changed = this.follow.onScroll({
      scrollTop: v.scrollTop,
      clientHeight: v.clientHeight,
      scrollHeight: v.scrollHeight,
    });
    if (changed) this.opts.onFollowChange?.(this.follow.following);
    this.opts.requestRender?.();
  };
}
