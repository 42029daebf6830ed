import { describe, expect, it } from "vitest";
import { FollowState, isAtBottom } from "../src/follow";

describe("follow-scroll", () => {
  it("isAtBottom within a few px", () => {
    expect(isAtBottom({ scrollTop: 520, clientHeight: 480, scrollHeight: 1000 })).toBe(true);
    expect(isAtBottom({ scrollTop: 515, clientHeight: 480, scrollHeight: 1000 })).toBe(true);
    expect(isAtBottom({ scrollTop: 400, clientHeight: 480, scrollHeight: 1000 })).toBe(false);
    expect(isAtBottom({ scrollTop: 0, clientHeight: 480, scrollHeight: 300 })).toBe(true);
  });

  it("scrolling up stops following; jump resumes; our own scrolls are ignored", () => {
    const f = new FollowState();
    expect(f.following).toBe(true);
    expect(f.showJump(true)).toBe(false);
    f.programmatic(520);
    expect(f.onScroll({ scrollTop: 520, clientHeight: 480, scrollHeight: 1000 })).toBe(false);
    expect(f.onScroll({ scrollTop: 100, clientHeight: 480, scrollHeight: 1000 })).toBe(true);
    expect(f.following).toBe(false);
    expect(f.showJump(true)).toBe(true);
    expect(f.showJump(false)).toBe(false);
    // Content grows while reading: still not following.
    expect(f.onScroll({ scrollTop: 100, clientHeight: 480, scrollHeight: 2000 })).toBe(false);
    f.resume();
    expect(f.following).toBe(true);
    // The reader scrolls back down to the bottom: following again.
    f.following = false;
    f.onScroll({ scrollTop: 1518, clientHeight: 480, scrollHeight: 2000 });
    expect(f.following).toBe(true);
  });
});
