// `import src from "./x.worklet?worklet"`: the bundled source text of ./x.worklet.ts
// (scripts/build.mjs). Under vitest the import is the module itself, which registers nothing
// outside an AudioWorkletGlobalScope, and its default export is undefined.
declare module "*?worklet" {
  const src: string | undefined;
  export default src;
}
