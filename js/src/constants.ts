// Protocol constants shared by several modules. This module imports nothing, so any module can
// use it without creating an import cycle (`npm run typecheck` checks that there is none).

/** `request_id` of the journal's `snapshot_request` (and of the kernel's reply to it). */
export const JOURNAL_REQUEST_ID = "journal";

/** `previous_item_id` of an insert at the top of the list. */
export const ROOT = "root";
