// Why the microphone cannot be used here, in words (pure: the environment is passed in).

export interface MicEnv {
  /** window.isSecureContext */
  secure: boolean;
  /** navigator.mediaDevices.getUserMedia exists */
  hasGetUserMedia: boolean;
  /** AudioContext and AudioWorkletNode exist */
  hasWorklet: boolean;
  /** document.featurePolicy.allowsFeature("microphone"), null when the browser cannot say */
  policyAllows: boolean | null;
  /** The page is inside a frame (VS Code webviews, some hosted notebooks) */
  inFrame: boolean;
  /** location.origin, for the message */
  origin: string;
}

export type MicProblem = "insecure" | "policy" | "denied" | "no-device" | "busy" | "unsupported" | "failed";

export interface MicError {
  code: MicProblem;
  message: string;
}

const HOST_HINT = "the notebook front end (VS Code, some hosted notebooks) does not give its outputs a microphone";

/** A problem visible before asking for the microphone, or null. */
export function micPrecheck(env: MicEnv): MicError | null {
  if (!env.secure) {
    return {
      code: "insecure",
      message: `The microphone needs a secure page (https, or http://localhost); this page is ${env.origin || "not secure"}.`,
    };
  }
  if (env.policyAllows === false) {
    return { code: "policy", message: `No microphone here: ${HOST_HINT}. Use JupyterLab or Notebook in a browser.` };
  }
  if (!env.hasWorklet) return { code: "unsupported", message: "This browser cannot capture audio here (no AudioWorklet)." };
  if (!env.hasGetUserMedia) return { code: "unsupported", message: "This browser gives the page no microphone (no getUserMedia)." };
  return null;
}

/** A getUserMedia (or start-up) failure in words. */
export function micFailure(err: unknown, env: MicEnv): MicError {
  const name = typeof err === "object" && err !== null && "name" in err ? String((err as { name: unknown }).name) : "";
  const detail = typeof err === "object" && err !== null && "message" in err ? String((err as { message: unknown }).message) : String(err);
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return {
        code: env.policyAllows === false ? "policy" : "denied",
        message: env.inFrame
          ? `Microphone permission denied: allow it for this site, or ${HOST_HINT}.`
          : "Microphone permission denied: allow the microphone for this site (the icon in the address bar), then try again.",
      };
    case "NotFoundError":
    case "OverconstrainedError":
      return { code: "no-device", message: "No microphone found: connect one and try again." };
    case "NotReadableError":
    case "AbortError":
      return { code: "busy", message: "The microphone could not be opened (another application may be using it)." };
    default:
      return { code: "failed", message: `The microphone could not be started: ${detail || name || "unknown error"}.` };
  }
}
