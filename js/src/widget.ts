// anywidget entry point: `export default { initialize, render }`. See ../PROTOCOL.md.
import "./styles.css";
import type { InitializeProps, RenderProps } from "@anywidget/types";
import { attachJournal } from "./journal";
import type { WidgetTraits } from "./types";
import { ConversationView } from "./view";

function initialize({ model }: InitializeProps<WidgetTraits>): () => void {
  return attachJournal(model);
}

function render({ model, el }: RenderProps<WidgetTraits>): () => void {
  const view = new ConversationView(model, el);
  view.start();
  return () => view.destroy();
}

export default { initialize, render };
