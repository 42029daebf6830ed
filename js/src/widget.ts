// anywidget entry point: `export default { initialize, render }`. See ../PROTOCOL.md.
import "./styles.css";
import type { InitializeProps, RenderProps } from "@anywidget/types";
import { attachAudio } from "./audio/attach";
import { attachJournal } from "./journal";
import type { WidgetTraits } from "./types";
import { ConversationView } from "./view";

function initialize({ model }: InitializeProps<WidgetTraits>): () => void {
  const stopJournal = attachJournal(model);
  const stopAudio = attachAudio(model); // one player and microphone per model (audio/engine.ts)
  return () => {
    stopAudio();
    stopJournal();
  };
}

function render({ model, el }: RenderProps<WidgetTraits>): () => void {
  const view = new ConversationView(model, el);
  view.start();
  return () => view.destroy();
}

export default { initialize, render };
