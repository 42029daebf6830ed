// Types of check-cycles.mjs, for test/cycles.test.ts.

export interface ImportRef {
  specifier: string;
  /** 1-based line of the specifier. */
  line: number;
  typeOnly: boolean;
}

export interface EdgeInfo {
  line: number;
  typeOnly: boolean;
}

export interface CheckResult {
  ok: boolean;
  cycles: string[][];
  lines: string[];
  modules: number;
}

export function listTsFiles(dir: string): string[];
export function parseImports(code: string, fileName?: string): ImportRef[];
export function resolveSpecifier(fromFile: string, specifier: string): string | null;
export function buildGraph(srcDir: string): { graph: Map<string, string[]>; edges: Map<string, EdgeInfo> };
export function findCycles(
  graph: Map<string, Iterable<string>> | Record<string, readonly string[]>,
  max?: number,
): string[][];
export function formatCycle(cycle: readonly string[], edges?: Map<string, EdgeInfo>): string;
export function checkCycles(srcDir: string): CheckResult;
