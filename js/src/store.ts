// The conversation as an ordered set of items: pure data, no DOM.
//
// Items live in a doubly linked list keyed by id (O(1) insert-after and remove). An order
// array and an id -> index map are kept for index access (the virtual list needs them); they
// are patched in O(1) for the common cases (append at the tail, remove the tail) and otherwise
// marked stale and rebuilt lazily on the next index access, so a burst of changes costs one
// O(n) rebuild at most per paint.
//
// Every operation is idempotent where the protocol allows it:
//  - inserted of a known id  = update in place (moved only if it names another known anchor)
//  - updated of an unknown id = insert at the end
//  - removed of an unknown id = no-op
//  - delta of an unknown id   = no-op

import type { ChangeMsg, DeltaField, DeltaMsg, ItemView } from "./types";

export interface Entry {
  item: ItemView;
  /** True while deltas arrive, until an update with a final status (or done) comes. */
  streaming: boolean;
  /** Bumped on every change of this item, so renderers can skip unchanged rows. */
  version: number;
}

interface Node {
  entry: Entry;
  prev: string | null;
  next: string | null;
}

export type StoreChange =
  | { kind: "structure" } // order changed: insert, remove, move or reset
  | { kind: "item"; id: string }; // one item changed in place

const FINAL_STATUSES = new Set(["completed", "incomplete"]);

export function isFinal(item: ItemView): boolean {
  return item.done === true || (item.status != null && FINAL_STATUSES.has(item.status));
}

export class ConversationStore {
  private nodes = new Map<string, Node>();
  private head: string | null = null;
  private tail: string | null = null;
  private order: string[] | null = [];
  private index: Map<string, number> | null = new Map();

  get size(): number {
    return this.nodes.size;
  }

  has(id: string): boolean {
    return this.nodes.has(id);
  }

  get(id: string): Entry | undefined {
    return this.nodes.get(id)?.entry;
  }

  /** Id of the item before `id` (null for the head or an unknown id). */
  prevOf(id: string): string | null {
    return this.nodes.get(id)?.prev ?? null;
  }

  /** Ids in conversation order (a shared array: do not mutate). */
  ids(): readonly string[] {
    return this.ensureOrder();
  }

  at(i: number): Entry | undefined {
    const id = this.ensureOrder()[i];
    return id === undefined ? undefined : this.nodes.get(id)?.entry;
  }

  indexOf(id: string): number {
    this.ensureOrder();
    return this.index?.get(id) ?? -1;
  }

  lastId(): string | null {
    return this.tail;
  }

  /** Replace everything with a snapshot (items in conversation order). */
  reset(items: readonly ItemView[]): StoreChange[] {
    this.nodes.clear();
    this.head = this.tail = null;
    this.order = [];
    this.index = new Map();
    for (const item of items) {
      if (this.nodes.has(item.id)) {
        this.updateInPlace(item);
      } else {
        this.linkAfter(item.id, this.tail, this.newEntry(item));
      }
    }
    return [{ kind: "structure" }];
  }

  apply(msg: ChangeMsg): StoreChange[] {
    switch (msg.kind) {
      case "inserted":
        return this.insert(msg.item);
      case "updated":
        return this.update(msg.item);
      case "delta":
        return this.applyDelta(msg);
      case "removed":
        return this.remove(msg.item_id);
    }
  }

  insert(item: ItemView): StoreChange[] {
    const anchor = item.previous_item_id;
    const node = this.nodes.get(item.id);
    if (node) {
      const changes = this.updateInPlace(item);
      // Follow a real move: the anchor is the head (null) or another known item.
      if (anchor !== node.prev && anchor !== item.id && (anchor === null || this.nodes.has(anchor))) {
        this.unlink(item.id);
        this.linkAfter(item.id, anchor, node.entry);
        return [{ kind: "structure" }];
      }
      return changes;
    }
    const after = anchor === null ? null : this.nodes.has(anchor) ? anchor : this.tail;
    this.linkAfter(item.id, after, this.newEntry(item));
    return [{ kind: "structure" }];
  }

  update(item: ItemView): StoreChange[] {
    if (!this.nodes.has(item.id)) {
      this.linkAfter(item.id, this.tail, this.newEntry(item));
      return [{ kind: "structure" }];
    }
    return this.updateInPlace(item);
  }

  remove(id: string): StoreChange[] {
    if (!this.nodes.has(id)) return [];
    this.unlink(id);
    this.nodes.delete(id);
    return [{ kind: "structure" }];
  }

  applyDelta(d: Pick<DeltaMsg, "item_id" | "field" | "content_index" | "text">): StoreChange[] {
    const entry = this.nodes.get(d.item_id)?.entry;
    if (!entry) return [];
    appendDelta(entry.item, d.field, d.content_index, d.text);
    entry.streaming = true;
    entry.version += 1;
    return [{ kind: "item", id: d.item_id }];
  }

  // -- internals ----------------------------------------------------------------------------

  private newEntry(item: ItemView): Entry {
    return { item, streaming: false, version: 0 };
  }

  private updateInPlace(item: ItemView): StoreChange[] {
    const node = this.nodes.get(item.id);
    if (!node) return [];
    const entry = node.entry;
    entry.item = item;
    if (isFinal(item)) entry.streaming = false;
    entry.version += 1;
    return [{ kind: "item", id: item.id }];
  }

  /** Link `id` after `after` (null = at the head). */
  private linkAfter(id: string, after: string | null, entry: Entry): void {
    const appending = after !== null && after === this.tail;
    const node: Node = { entry, prev: after, next: null };
    if (after === null) {
      node.next = this.head;
      if (this.head !== null) this.nodes.get(this.head)!.prev = id;
      this.head = id;
      if (this.tail === null) this.tail = id;
    } else {
      const prev = this.nodes.get(after)!;
      node.next = prev.next;
      if (prev.next !== null) this.nodes.get(prev.next)!.prev = id;
      else this.tail = id;
      prev.next = id;
    }
    this.nodes.set(id, node);
    if ((appending || this.nodes.size === 1) && this.order && this.index) {
      this.index.set(id, this.order.length);
      this.order.push(id);
    } else {
      this.stale();
    }
  }

  private unlink(id: string): void {
    const node = this.nodes.get(id);
    if (!node) return;
    const wasTail = this.tail === id;
    if (node.prev !== null) this.nodes.get(node.prev)!.next = node.next;
    else this.head = node.next;
    if (node.next !== null) this.nodes.get(node.next)!.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
    if (wasTail && this.order && this.index && this.order[this.order.length - 1] === id) {
      this.order.pop();
      this.index.delete(id);
    } else {
      this.stale();
    }
  }

  private stale(): void {
    this.order = null;
    this.index = null;
  }

  private ensureOrder(): string[] {
    if (this.order) return this.order;
    const order: string[] = [];
    const index = new Map<string, number>();
    let cur = this.head;
    while (cur !== null) {
      index.set(cur, order.length);
      order.push(cur);
      cur = this.nodes.get(cur)?.next ?? null;
    }
    this.order = order;
    this.index = index;
    return order;
  }
}

/** Append streamed text to an item (mutates it), the way the kernel's model does. */
export function appendDelta(
  item: ItemView,
  field: DeltaField,
  contentIndex: number | null,
  text: string,
): void {
  if (field === "arguments") {
    item.arguments = (typeof item.arguments === "string" ? item.arguments : "") + text;
  } else {
    const ci = contentIndex ?? 0;
    const content = Array.isArray(item.content) ? item.content : (item.content = []);
    const user = item.role === "user";
    const defaultType =
      field === "text" ? (user ? "input_text" : "output_text") : user ? "input_audio" : "output_audio";
    while (content.length <= ci) content.push({ type: defaultType });
    const part = content[ci]!;
    const old = part[field];
    part[field] = (typeof old === "string" ? old : "") + text;
  }
  item.text = (typeof item.text === "string" ? item.text : "") + text;
  if (!item.status) item.status = "in_progress";
}
