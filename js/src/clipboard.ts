// Copy buttons (a message, a code block): the button says how it went for a moment.

/** Copy text; the button's title says "Copied" for a moment (or why it could not). */
export function copyToClipboard(text: string, btn: HTMLElement): void {
  const done = (ok: boolean): void => {
    btn.dataset.copied = ok ? "true" : "false";
    const label = btn.getAttribute("aria-label") ?? "";
    btn.title = ok ? "Copied" : "Copy failed: select the text instead";
    setTimeout(() => {
      delete btn.dataset.copied;
      btn.title = label;
    }, 1500);
  };
  const clip = typeof navigator !== "undefined" ? navigator.clipboard : undefined;
  if (clip && typeof clip.writeText === "function") {
    clip.writeText(text).then(() => done(true), () => done(false));
  } else {
    done(false);
  }
}
