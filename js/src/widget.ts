// anywidget entry point: `export default { render }`. See ../PROTOCOL.md for the messages.
import "./styles.css";
import type { RenderProps } from "@anywidget/types";
import type { WidgetTraits } from "./types";
import { ConversationView } from "./view";

function render({ model, el }: RenderProps<WidgetTraits>): () => void {
  const view = new ConversationView(model, el);
  view.start();
  return () => view.destroy();
}

export default { render };
