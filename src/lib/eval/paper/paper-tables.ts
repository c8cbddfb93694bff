/**
 * @file The paper's numbers (`benchmarks/paper-tables.json`, Hsiao et al., NeurIPS 2024): the zod schema of the
 * parts refbench reads (tables, their columns in the paper's order with direction and printed decimals, rows and
 * cell statuses) and lookups. Runtime-neutral: the file is read by `server/experiments/paper-data.ts`.
 *
 * Every place that prints or compares a paper number (report --paper, the fusion tables, the dashboard's paper
 * page) reads it through here, so the numbers cannot drift from the JSON.
 */
import { z } from 'zod';

/** One column of a paper table, in the paper's order. */
export const PaperMetricSchema = z.object({
  key: z.string(),
  name: z.string(),
  direction: z.enum(['higher', 'lower']).nullable(),
  /** Decimals the paper prints; null for non-numeric columns. */
  decimals: z.number().int().nullable(),
  unit: z.string().nullable().optional(),
  /** Table 7: the benchmark a column belongs to. */
  dataset: z.string().optional(),
  dataset_id: z.string().optional(),
});
export type PaperMetric = z.infer<typeof PaperMetricSchema>;

export const PaperRowSchema = z.object({
  method: z.string(),
  values: z.record(z.string(), z.union([z.number(), z.boolean(), z.null()])),
  /** Why a null value is null (e.g. `out-of-memory`). */
  status: z.record(z.string(), z.string()).optional(),
  citation: z.string().optional(),
  footnote: z.string().optional(),
  evaluated_images: z.record(z.string(), z.number()).optional(),
});
export type PaperRow = z.infer<typeof PaperRowSchema>;

export const PaperTableSchema = z.object({
  id: z.string(),
  number: z.number().int(),
  section: z.string().optional(),
  caption: z.string(),
  dataset: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
  dataset_id: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
  setup: z.string().optional(),
  hardware: z.string().optional(),
  metrics: z.array(PaperMetricSchema),
  rows: z.array(PaperRowSchema),
  notes: z.array(z.string()).optional(),
});
export type PaperTable = z.infer<typeof PaperTableSchema>;

export const PaperTablesSchema = z.object({
  schema_version: z.literal(1),
  paper: z.object({ title: z.string(), venue: z.string(), arxiv: z.string(), code: z.string() }).passthrough(),
  units_note: z.record(z.string(), z.string()).optional(),
  tables: z.array(PaperTableSchema),
  footnotes: z.record(z.string(), z.unknown()).optional(),
});
export type PaperTables = z.infer<typeof PaperTablesSchema>;

/**
 * The table `ref` (`table7`, `7` or `Table7`).
 * @throws Error listing the available ids when there is none.
 */
export function findPaperTable(doc: PaperTables, ref: string, file = 'paper-tables.json'): PaperTable {
  const n = ref.replace(/^table/i, '');
  const t = doc.tables.find((x) => x.id === ref.toLowerCase() || String(x.number) === n);
  if (!t) throw new Error(`${file}: no table '${ref}'; available: ${doc.tables.map((x) => x.id).join(', ')}`);
  return t;
}

/** The row of `table` whose method is `method`, or a clear error. */
export function findPaperRow(table: PaperTable, method: string, file = 'paper-tables.json'): PaperRow {
  const r = table.rows.find((x) => x.method === method);
  if (!r) throw new Error(`${file}: ${table.id} has no row '${method}'; rows: ${table.rows.map((x) => x.method).join(', ')}`);
  return r;
}

/** A numeric cell of the paper (null when the paper gives none; `status` says why, e.g. out-of-memory). */
export function paperValue(table: PaperTable, method: string, key: string): { value: number | null; status?: string } {
  const row = findPaperRow(table, method);
  if (!table.metrics.some((m) => m.key === key)) throw new Error(`paper-tables.json: ${table.id} has no column '${key}'; columns: ${table.metrics.map((m) => m.key).join(', ')}`);
  const v = row.values[key];
  return { value: typeof v === 'number' ? v : null, ...(row.status?.[key] ? { status: row.status[key] } : {}) };
}
