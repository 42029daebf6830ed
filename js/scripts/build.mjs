#!/usr/bin/env node
// The front-end build: esbuild's API with one plugin, so that an AudioWorklet can be written in
// TypeScript next to the code that loads it.
//
//   node scripts/build.mjs            -> ../realtime_nb/static/{widget,table}.{js,css}, minified
//   node scripts/build.mjs --watch    -> the same, unminified with inline source maps, rebuilt on change
//
// `import src from "./x.worklet?worklet"` gives the source text of `./x.worklet.ts` bundled on
// its own (an IIFE with everything it imports): AudioWorklet modules run in their own global
// scope and are loaded from a Blob URL (the widget's own module is itself loaded from a Blob
// URL by anywidget, so no file next to it can be fetched).

import * as esbuild from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const watch = process.argv.includes("--watch");
const target = "es2022";

/** `?worklet` imports: the module bundled alone, as text. */
const worklets = {
  name: "worklet",
  setup(build) {
    build.onResolve({ filter: /\?worklet$/ }, (args) => ({
      path: resolve(args.resolveDir, `${args.path.replace(/\?worklet$/, "")}.ts`),
      namespace: "worklet",
    }));
    build.onLoad({ filter: /.*/, namespace: "worklet" }, async (args) => {
      const out = await esbuild.build({
        entryPoints: [args.path],
        bundle: true,
        write: false,
        format: "iife",
        target,
        minify: !watch,
        sourcemap: watch ? "inline" : false,
        metafile: true,
        logLevel: "silent",
      });
      const inputs = Object.keys(out.metafile.inputs).map((p) => resolve(root, p));
      return { contents: out.outputFiles[0].text, loader: "text", watchFiles: inputs };
    });
  },
};

const options = {
  entryPoints: { widget: "src/widget.ts", table: "src/table/index.ts" },
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  target,
  outdir: resolve(root, "../realtime_nb/static"),
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  plugins: [worklets],
  logLevel: "info",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
