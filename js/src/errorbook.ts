// The kernel's errors a view shows: each belongs to the item it names while that item is in
// the list, otherwise to the top of the list (the newest few, "dismiss all" clears them).
// Pure: no DOM; the view paints what `forItem` and `orphans` return.

import type { ErrorView } from "./types";

/** Errors kept per view (the oldest are dropped first). */
export const MAX_ERRORS = 200;
/** Errors without an item shown at the top at once. */
export const TOP_ERRORS = 3;

export interface KernelError {
  /** Stable within the view: the dismiss button's `data-error-key`. */
  key: string;
  error: ErrorView;
}

export class ErrorBook {
  private errors: KernelError[] = [];
  private seq = 0;

  /** A snapshot's errors replace all. */
  reset(errors: ErrorView[]): void {
    this.errors = errors.slice(-MAX_ERRORS).map((error) => this.keyed(error));
  }

  add(error: ErrorView): void {
    this.errors.push(this.keyed(error));
    if (this.errors.length > MAX_ERRORS) this.errors.splice(0, this.errors.length - MAX_ERRORS);
  }

  forItem(id: string): KernelError[] {
    return this.errors.filter((e) => e.error.item_id === id);
  }

  /** Errors no item in the list claims (`has`: whether an item is in the list). */
  orphans(has: (id: string) => boolean): KernelError[] {
    return this.errors.filter((e) => !e.error.item_id || !has(e.error.item_id));
  }

  /** An item left the list: its errors go with it (they would otherwise pile up at the top). */
  itemGone(id: string): void {
    this.errors = this.errors.filter((e) => e.error.item_id !== id);
  }

  /** Drop one error; the item it belonged to, if any. */
  dismiss(key: string): string | null {
    const i = this.errors.findIndex((x) => x.key === key);
    if (i < 0) return null;
    const [gone] = this.errors.splice(i, 1);
    return gone?.error.item_id ?? null;
  }

  /** "Dismiss all": drop every error shown at the top. */
  dismissOrphans(has: (id: string) => boolean): void {
    this.errors = this.errors.filter((x) => x.error.item_id && has(x.error.item_id));
  }

  private keyed(error: ErrorView): KernelError {
    return { key: `k${this.seq++}`, error };
  }
}
