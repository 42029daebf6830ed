import { describe, expect, it } from "vitest";
import { ConversationStore } from "../src/store";
import { ConversationView } from "../src/view";
import { VirtualList } from "../src/virtual";
import { FakeModel, ManualScheduler, msg } from "./helpers";

/** jsdom has no layout: give the viewport a height and derive scrollHeight from the spacer. */
function layout(viewport: HTMLElement, height = 480) {
  Object.defineProperty(viewport, "clientHeight", { configurable: true, get: () => height });
  Object.defineProperty(viewport, "scrollHeight", {
    configurable: true,
    get: () => Math.max(height, parseFloat((viewport.firstElementChild as HTMLElement).style.height) || 0),
  });
}

function bigSnapshot(n: number) {
  const items = [];
  let prev: string | null = null;
  for (let i = 0; i < n; i++) {
    const id: string = `it${i}`;
    items.push(msg(id, prev, `row ${i}`));
    prev = id;
  }
  return { kind: "snapshot", items, errors: [], log: [] };
}

describe("VirtualList", () => {
  function make(n: number) {
    const store = new ConversationStore();
    store.reset(Array.from({ length: n }, (_, i) => msg(`k${i}`, i ? `k${i - 1}` : null)));
    const created: string[] = [];
    const updated: string[] = [];
    const list = new VirtualList(
      { count: () => store.size, keyAt: (i) => store.ids()[i] },
      {
        create: (k) => {
          created.push(k);
          const el = document.createElement("div");
          el.dataset.itemId = k;
          el.textContent = store.get(k)!.item.text ?? "";
          return el;
        },
        update: (el, k) => {
          updated.push(k);
          el.textContent = store.get(k)!.item.text ?? "";
        },
      },
      { estimate: 50, overscan: 2 },
    );
    document.body.append(list.viewport);
    layout(list.viewport, 500);
    return { store, list, created, updated };
  }

  it("renders only the visible rows plus overscan; the spacer keeps the full height", () => {
    const { list, created } = make(10_000);
    list.follow.following = false;
    list.render();
    const rows = list.viewport.querySelectorAll("[data-item-id]");
    expect(rows.length).toBe(10 + 1 + 2); // 500px / 50px (+ the partly visible one) + overscan below
    expect(created.length).toBe(rows.length);
    expect((list.viewport.firstElementChild as HTMLElement).style.height).toBe(`${10_000 * 50}px`);
    list.viewport.scrollTop = 250_000;
    list.viewport.dispatchEvent(new Event("scroll"));
    list.render();
    const ids = Array.from(list.viewport.querySelectorAll<HTMLElement>("[data-item-id]")).map((e) => e.dataset.itemId);
    expect(ids[0]).toBe("k4998");
    expect(ids).toContain("k5000");
    expect(ids.length).toBeLessThan(20);
    list.destroy();
    list.viewport.remove();
  });

  it("patches only the changed row", () => {
    const { store, list, created, updated } = make(100);
    list.follow.following = false;
    list.render();
    const createdBefore = created.length;
    store.update(msg("k3", "k2", "changed"));
    list.invalidateRow("k3");
    list.render();
    expect(updated).toEqual(["k3"]);
    expect(created.length).toBe(createdBefore);
    expect(list.rowElement("k3")?.textContent).toBe("changed");
    list.viewport.remove();
  });

  it("uses measured heights", () => {
    const { list } = make(100);
    list.follow.following = false;
    const orig = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "offsetHeight")!;
    Object.defineProperty(HTMLElement.prototype, "offsetHeight", { configurable: true, get: () => 100 });
    try {
      list.render();
      const spacer = list.viewport.firstElementChild as HTMLElement;
      // The first pass measured its 13 rows (500px / 50px estimate + overscan) at 100px;
      // the second pass then needs fewer rows to fill the viewport.
      expect(parseFloat(spacer.style.height)).toBe(13 * 100 + 87 * 50);
      const [s, e] = list.range;
      expect(e - s).toBe(5 + 1 + 2);
    } finally {
      Object.defineProperty(HTMLElement.prototype, "offsetHeight", orig);
    }
    list.viewport.remove();
  });
});

describe("the view with 10,000 items", () => {
  function setup() {
    const model = new FakeModel();
    const sched = new ManualScheduler();
    const host = document.createElement("div");
    document.body.append(host);
    const view = new ConversationView(model, host, { scheduler: sched, estimate: 60, overscan: 4 });
    layout(view.list.viewport, 480);
    view.start();
    return { model, sched, host, view };
  }

  it("renders a few rows, follows the bottom, patches one row per delta frame", () => {
    const { model, sched, host, view } = setup();
    const t0 = performance.now();
    model.custom(bigSnapshot(10_000));
    sched.frame();
    const rows = host.querySelectorAll(".rnb-item");
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.length).toBeLessThan(30);
    // Following: the last item is in the DOM and the viewport is at the bottom.
    expect(host.querySelector('[data-item-id="it9999"]')).not.toBeNull();
    expect(view.list.viewport.scrollTop).toBe(10_000 * 60 - 480);

    const last = host.querySelector<HTMLElement>('[data-item-id="it9999"]')!;
    const other = host.querySelector<HTMLElement>('[data-item-id="it9998"]')!;
    const otherBody = other.querySelector(".rnb-body")!.firstChild;
    for (let i = 0; i < 200; i++) {
      model.custom({ kind: "delta", item_id: "it9999", field: "text", content_index: 0, text: "." });
    }
    sched.frame();
    expect(last.querySelector(".rnb-text")?.textContent).toBe(`row 9999${".".repeat(200)}`);
    expect(other.querySelector(".rnb-body")!.firstChild).toBe(otherBody); // untouched

    // 1,000 appends in one frame
    for (let i = 10_000; i < 11_000; i++) model.custom({ kind: "inserted", item: msg(`it${i}`, `it${i - 1}`) });
    sched.frame();
    expect(host.querySelector('[data-item-id="it10999"]')).not.toBeNull();
    expect(host.querySelectorAll(".rnb-item").length).toBeLessThan(30);
    expect(performance.now() - t0).toBeLessThan(5_000);
    view.destroy();
    host.remove();
  });

  it("reader scrolled up: stays put, shows Jump to latest; clicking it resumes following", () => {
    const { model, sched, host, view } = setup();
    model.custom(bigSnapshot(1_000));
    sched.frame();
    const vp = view.list.viewport;
    const jump = host.querySelector<HTMLButtonElement>('[aria-label="Jump to latest"]')!;
    expect(jump.hidden).toBe(true);
    vp.scrollTop = 1_000;
    vp.dispatchEvent(new Event("scroll"));
    sched.frame();
    expect(jump.hidden).toBe(false);
    model.custom({ kind: "inserted", item: msg("new", "it999") });
    model.custom({ kind: "delta", item_id: "it999", field: "text", content_index: 0, text: "more" });
    sched.frame();
    expect(vp.scrollTop).toBe(1_000);
    expect(jump.hidden).toBe(false);
    jump.click();
    expect(vp.scrollTop).toBe(1_001 * 60 - 480);
    expect(jump.hidden).toBe(true);
    expect(host.querySelector('[data-item-id="new"]')).not.toBeNull();
    view.destroy();
    host.remove();
  });

  it("arrow keys move focus between rows", () => {
    const { model, sched, host, view } = setup();
    model.custom(bigSnapshot(50));
    sched.frame();
    const last = host.querySelector<HTMLElement>('[data-item-id="it49"]')!;
    last.focus();
    last.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowUp", bubbles: true }));
    expect((document.activeElement as HTMLElement).dataset.itemId).toBe("it48");
    (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent("keydown", { key: "Home", bubbles: true }));
    expect((document.activeElement as HTMLElement).dataset.itemId).toBe("it0");
    view.destroy();
    host.remove();
  });
});
