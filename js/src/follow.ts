// Follow-scroll as pure logic: while the reader is at the bottom, new content keeps the list
// at the bottom; once they scroll up, the list stays put and offers "Jump to latest".

export interface ScrollMetrics {
  scrollTop: number;
  clientHeight: number;
  scrollHeight: number;
}

/** Pixels from the bottom that still count as "at the bottom". */
export const BOTTOM_THRESHOLD = 8;

export function isAtBottom(m: ScrollMetrics, threshold = BOTTOM_THRESHOLD): boolean {
  return m.scrollHeight - m.clientHeight - m.scrollTop <= threshold;
}

export class FollowState {
  following = true;
  /** scrollTop we set ourselves; its scroll event is not the reader's. */
  private expected: number | null = null;

  /** A scroll event happened; returns whether `following` changed. */
  onScroll(m: ScrollMetrics): boolean {
    if (this.expected !== null && Math.abs(m.scrollTop - this.expected) < 1) {
      this.expected = null;
      return false;
    }
    this.expected = null;
    const before = this.following;
    this.following = isAtBottom(m);
    return before !== this.following;
  }

  /** We are about to scroll to `top` ourselves. */
  programmatic(top: number): void {
    this.expected = top;
  }

  /** "Jump to latest": follow again. */
  resume(): void {
    this.following = true;
  }

  /** Whether the "Jump to latest" button shows. */
  showJump(hasContent: boolean): boolean {
    return hasContent && !this.following;
  }
}

/** The row a navigation key moves to from row `index` of `size` (`page` rows a page), or
 * null for a key that does not move (the list's roving focus: arrows, Page Up/Down, Home,
 * End). */
export function rowKeyTarget(key: string, index: number, size: number, page: number): number | null {
  switch (key) {
    case "ArrowDown": return index + 1;
    case "ArrowUp": return index - 1;
    case "PageDown": return Math.min(size - 1, index + page);
    case "PageUp": return Math.max(0, index - page);
    case "Home": return 0;
    case "End": return size - 1;
    default: return null;
  }
}
