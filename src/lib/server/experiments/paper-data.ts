/**
 * @file Reads `benchmarks/paper-tables.json` (the paper's numbers, committed) once per process and validates it
 * (eval/paper/paper-tables.ts). Every reader of a paper number goes through `loadPaperTables`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIssues } from '../../eval/results/schema.ts';
import { PaperTablesSchema, findPaperTable, type PaperTable, type PaperTables } from '../../eval/paper/paper-tables.ts';
import { REPO_ROOT } from '../paths.ts';

/** The committed copy of the paper's tables (public data from the paper). */
export const PAPER_TABLES_PATH = join(REPO_ROOT, 'benchmarks', 'paper-tables.json');

let cached: PaperTables | undefined;

/**
 * The paper's tables, parsed and schema-checked.
 * @throws Error naming the file and the field when it is missing or malformed.
 */
export function loadPaperTables(): PaperTables {
  if (cached) return cached;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(PAPER_TABLES_PATH, 'utf8'));
  } catch (err) {
    throw new Error(`${PAPER_TABLES_PATH}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message} (the paper's tables)`);
  }
  const r = PaperTablesSchema.safeParse(raw);
  if (!r.success) throw new Error(`${PAPER_TABLES_PATH}: ${describeIssues(r.error)}`);
  cached = r.data;
  return cached;
}

/** One paper table by id (`table5`) or number (`5`). */
export function paperTable(ref: string): PaperTable {
  return findPaperTable(loadPaperTables(), ref, PAPER_TABLES_PATH);
}
