#!/usr/bin/env node
// Fails (exit 1) when the modules of js/src import each other in a cycle, printing each cycle.
//
// Every relative `import ... from "./x"`, `import type ... from "./x"`, `import "./x"`,
// `export ... from "./x"`, `export type ... from "./x"`, `import x = require("./x")`,
// `import("./x")` and `import("./x").T` of every `src/**/*.ts` file counts (type-only imports
// too: they tie the modules together just as much for a reader). Files are parsed with the
// TypeScript compiler's parser (already a dev dependency), so comments, strings and imports that
// span several lines are handled exactly. Non-TypeScript targets (`./styles.css`) and packages
// are ignored.
//
//   node scripts/check-cycles.mjs [srcDir]     (default: ../src next to this script)
//
// `npm run typecheck` runs it after `tsc --noEmit`; test/cycles.test.ts tests it.

import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

/** Cap on the cycles listed (a tangled graph can have very many elementary cycles). */
const MAX_CYCLES = 100;

/** Every `.ts` file under `dir`, recursively, sorted. */
export function listTsFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts")) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * The module specifiers of one file's imports and re-exports, in source order:
 * `{ specifier, line (1-based), typeOnly }`.
 */
export function parseImports(code, fileName = "module.ts") {
  const sf = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found = [];
  const add = (lit, typeOnly) => {
    if (lit && ts.isStringLiteralLike(lit)) {
      const { line } = sf.getLineAndCharacterOfPosition(lit.getStart(sf));
      found.push({ specifier: lit.text, line: line + 1, typeOnly });
    }
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const typeOnly = !!clause && (clause.isTypeOnly || (
        !clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(arg.literal, true);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The `.ts` file a relative specifier names, or null (a package, CSS, a missing file). */
export function resolveSpecifier(fromFile, specifier) {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return null;
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [];
  if (base.endsWith(".ts")) candidates.push(base);
  else if (/\.(m|c)?js$/.test(base)) candidates.push(base.replace(/\.(m|c)?js$/, ".ts"));
  else candidates.push(`${base}.ts`, join(base, "index.ts"));
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return null;
}

/**
 * The import graph of every `.ts` file under `srcDir`. Node names are paths relative to
 * `srcDir` with `/` separators (`view.ts`, `table/index.ts`).
 * Returns `{ graph: Map<node, node[]>, edges: Map<"from -> to", {line, typeOnly}> }`.
 */
export function buildGraph(srcDir) {
  const root = resolve(srcDir);
  const name = (p) => relative(root, p).split(sep).join("/");
  const graph = new Map();
  const edges = new Map();
  for (const file of listTsFiles(root)) {
    const from = name(file);
    const targets = [];
    for (const imp of parseImports(readFileSync(file, "utf8"), file)) {
      const target = resolveSpecifier(file, imp.specifier);
      if (target === null) continue;
      const rel = relative(root, target);
      if (rel.startsWith("..")) continue; // outside srcDir
      const to = name(target);
      const key = `${from} -> ${to}`;
      if (!edges.has(key)) {
        targets.push(to);
        edges.set(key, { line: imp.line, typeOnly: imp.typeOnly });
      } else if (!imp.typeOnly) {
        edges.get(key).typeOnly = false;
      }
    }
    graph.set(from, targets);
  }
  return { graph, edges };
}

/**
 * The elementary cycles of a directed graph (`Map` or plain object: node -> successors), each
 * as its list of nodes starting at its smallest node (`["a", "b"]` = a -> b -> a), in a
 * deterministic order; at most `max`.
 */
export function findCycles(graphLike, max = MAX_CYCLES) {
  const graph = new Map();
  const entries = graphLike instanceof Map ? [...graphLike] : Object.entries(graphLike);
  for (const [node, succ] of entries) {
    const list = graph.get(node) ?? [];
    list.push(...succ);
    graph.set(node, list);
    for (const s of succ) if (!graph.has(s)) graph.set(s, []);
  }
  const nodes = [...graph.keys()].sort();
  for (const n of nodes) graph.set(n, [...new Set(graph.get(n))].sort());

  // Tarjan: strongly connected components (iterative, no recursion limit).
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const compOf = new Map();
  let counter = 0;
  let comps = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work = [[start, 0]];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const [v, i] = top;
      const succ = graph.get(v);
      if (i < succ.length) {
        top[1] = i + 1;
        const w = succ[i];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v), index.get(w)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === index.get(v)) {
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          compOf.set(w, comps);
        } while (w !== v);
        comps++;
      }
    }
  }

  // Within each component: every elementary cycle once, rooted at its smallest node.
  const cycles = [];
  for (const s of nodes) {
    if (cycles.length >= max) break;
    const comp = compOf.get(s);
    const allowed = (w) => compOf.get(w) === comp && w >= s;
    const path = [s];
    const onPath = new Set([s]);
    const work = [[s, 0]];
    while (work.length > 0 && cycles.length < max) {
      const top = work[work.length - 1];
      const [v, i] = top;
      const succ = graph.get(v);
      if (i >= succ.length) {
        work.pop();
        path.pop();
        onPath.delete(v);
        continue;
      }
      top[1] = i + 1;
      const w = succ[i];
      if (w === s) cycles.push([...path]);
      else if (allowed(w) && !onPath.has(w)) {
        path.push(w);
        onPath.add(w);
        work.push([w, 0]);
      }
    }
  }
  return cycles;
}

/** A cycle as one line: `a.ts -> b.ts (import type, a.ts:3) -> a.ts (b.ts:7)`. */
export function formatCycle(cycle, edges = new Map()) {
  let out = cycle[0];
  for (let k = 0; k < cycle.length; k++) {
    const from = cycle[k];
    const to = cycle[(k + 1) % cycle.length];
    const e = edges.get(`${from} -> ${to}`);
    out += ` -> ${to}`;
    if (e) out += ` (${e.typeOnly ? "type-only import, " : ""}${from}:${e.line})`;
  }
  return out;
}

/** Check one source tree: `{ ok, cycles, lines }` (lines = the report). */
export function checkCycles(srcDir) {
  const { graph, edges } = buildGraph(srcDir);
  const cycles = findCycles(graph);
  const lines = cycles.map((c) => `import cycle: ${formatCycle(c, edges)}`);
  if (cycles.length >= MAX_CYCLES) lines.push(`(stopped after ${MAX_CYCLES} cycles)`);
  return { ok: cycles.length === 0, cycles, lines, modules: graph.size };
}

const isMain = process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const here = dirname(fileURLToPath(import.meta.url));
  const srcDir = process.argv[2] ?? join(here, "..", "src");
  const { ok, cycles, lines, modules } = checkCycles(srcDir);
  if (ok) {
    console.log(`check-cycles: ${modules} modules, no import cycle`);
  } else {
    for (const line of lines) console.error(line);
    console.error(`check-cycles: ${cycles.length} import cycle(s) among the modules of ${srcDir}`);
    process.exit(1);
  }
}
