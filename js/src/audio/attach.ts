// `initialize`'s audio: the engine of a model, on the real browser (worklets from Blob URLs).

import { attachEngine } from "./engine";
import { browserPlatform } from "./platform";
import type { ModelLike } from "../types";
import { workletUrl } from "./worklets";

export function attachAudio(model: ModelLike): () => void {
  return attachEngine(model, browserPlatform(workletUrl));
}
