// @vitest-environment node
/// <reference types="node" />
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildGraph, checkCycles, findCycles, parseImports } from "../scripts/check-cycles.mjs";

const SCRIPT = join(__dirname, "..", "scripts", "check-cycles.mjs");
const SRC = join(__dirname, "..", "src");

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "rnb-cycles-"));
  for (const [name, code] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, code);
  }
  dirs.push(dir);
  return dir;
}
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("findCycles", () => {
  it("finds a cycle in a tiny synthetic graph", () => {
    expect(findCycles({ a: ["b"], b: ["c"], c: ["a"], d: ["a"] })).toEqual([["a", "b", "c"]]);
  });

  it("lists every elementary cycle once, self-loops included", () => {
    expect(findCycles({ a: ["b", "c"], b: ["a"], c: ["a"], e: ["e"] })).toEqual([["a", "b"], ["a", "c"], ["e"]]);
    expect(findCycles(new Map([["x", ["y"]], ["y", ["z", "x"]], ["z", ["y"]]]))).toEqual([["x", "y"], ["y", "z"]]);
  });

  it("finds none in a DAG (diamond, shared leaves)", () => {
    expect(findCycles({ a: ["b", "c"], b: ["d"], c: ["d"], d: [] })).toEqual([]);
  });
});

describe("parseImports", () => {
  it("sees every kind of import, across lines, and nothing in comments or strings", () => {
    const code = [
      'import type {',
      '  A,',
      '  B,',
      '} from "./types";',
      'import { type C, D } from "./d";',
      'import "./styles.css";',
      'export { e } from "./e";',
      'export type { F } from "./f";',
      'export * from "./g";',
      '// import { x } from "./commented";',
      '/* export * from "./block"; */',
      'const s = "import { y } from \'./string\'";',
      'type T = import("./t").T;',
      'const lazy = () => import("./lazy");',
    ].join("\n");
    expect(parseImports(code)).toEqual([
      { specifier: "./types", line: 4, typeOnly: true },
      { specifier: "./d", line: 5, typeOnly: false },
      { specifier: "./styles.css", line: 6, typeOnly: false },
      { specifier: "./e", line: 7, typeOnly: false },
      { specifier: "./f", line: 8, typeOnly: true },
      { specifier: "./g", line: 9, typeOnly: false },
      { specifier: "./t", line: 13, typeOnly: true },
      { specifier: "./lazy", line: 14, typeOnly: false },
    ]);
  });
});

describe("checkCycles on a source tree", () => {
  it("fails on a synthetic tree whose cycle goes through a type-only import and a folder index", () => {
    const dir = tree({
      "a.ts": 'import type { B } from "./b";\nexport const a = 1;\n',
      "b.ts": 'import { c } from "./sub";\nexport type B = number;\n',
      "sub/index.ts": 'export { a as c } from "../a";\nimport "./x.css";\n',
      "ok.ts": 'import { a } from "./a";\n',
    });
    const res = checkCycles(dir);
    expect(res.ok).toBe(false);
    expect(res.cycles).toEqual([["a.ts", "b.ts", "sub/index.ts"]]);
    expect(res.lines).toEqual([
      "import cycle: a.ts -> b.ts (type-only import, a.ts:1) -> sub/index.ts (b.ts:1) -> a.ts (sub/index.ts:1)",
    ]);
    // the command line fails too
    const run = spawnSync(process.execPath, [SCRIPT, dir], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("import cycle: a.ts -> b.ts");
  });

  it("passes on a synthetic tree without a cycle", () => {
    const dir = tree({ "a.ts": 'import type { B } from "./b";\n', "b.ts": "export type B = 1;\n" });
    expect(checkCycles(dir)).toMatchObject({ ok: true, cycles: [], modules: 2 });
  });

  it("the real src/ tree has no import cycle", () => {
    const res = checkCycles(SRC);
    expect(res.lines).toEqual([]);
    expect(res.ok).toBe(true);
    const { graph } = buildGraph(SRC);
    // sanity: the graph is the real one
    expect(graph.get("journal.ts")).toEqual(expect.arrayContaining(["constants.ts", "protocol.ts", "types.ts"]));
    expect(graph.get("table/index.ts")).toEqual(expect.arrayContaining(["dom.ts", "table/rows.ts"]));
    expect(graph.get("constants.ts")).toEqual([]);
  });
});
