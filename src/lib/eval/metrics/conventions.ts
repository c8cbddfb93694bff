/**
 * @file The exact mode of a metric, where its number is shown ("which ArcFace, which crop, which LPIPS version?"):
 * - `MetricConventions`: what each metric declares where it is registered (server/metrics/index.ts): the
 *   implementation its values match, with its version; the input range; the resize and crop, per value of its
 *   `resize` option when it has one;
 * - `modeOf`: those conventions joined with what a run recorded for the metric in run.json (metric version, the
 *   `resize` option, the weight/statistics files with their sha256 and label);
 * - `columnMode`: the modes of the runs of one table column, grouped (runs that differ are listed apart).
 * Runtime-neutral: the dashboard's pages render it; the server computes it.
 */

/** What a metric declares about how it computes its number. */
export interface MetricConventions {
  /** The implementation the values match, with its version: `pyiqa 0.1.16 'psnr'`. */
  readonly implementation: string;
  /** The pixel range and channels the formula or network receives: `RGB [0, 1]`. */
  readonly input: string;
  /**
   * Resize and crop before scoring, keyed by the value of the metric's `resize` option (`none`,
   * `pil-bicubic-512`); metrics without that option have only `default`.
   */
  readonly resize: Readonly<Record<string, string>>;
}

/** A weight or statistics file of a metric: its label (manifest id / file name) and sha256 (12 hex digits). */
export interface ModeFile {
  readonly label: string;
  readonly sha256: string;
}

/** One metric's exact mode in one run. */
export interface MetricMode {
  readonly id: string;
  readonly version: string;
  readonly implementation: string;
  readonly input: string;
  readonly resize: string;
  /** `none`, `real` or `test-random-init`. */
  readonly weights: string;
  readonly files: readonly ModeFile[];
}

/** The modes of a column's runs: usually one; several when its runs used different versions, options or files. */
export interface ColumnMode {
  readonly variants: readonly { readonly mode: MetricMode; readonly runIds: readonly string[] }[];
}

/** What run.json records about a metric (a subset of `MetricInfo`). */
export interface RecordedMetric {
  readonly version: string;
  readonly weights: string;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly files?: readonly { readonly name: string; readonly sha256: string; readonly model?: string; readonly path?: string }[];
}

const UNKNOWN = 'not declared (a metric registered without conventions)';

/** The last path segment (a recorded file name never shows a folder). */
const fileName = (p: string) => p.split(/[\\/]/).pop() ?? p;

/** `<manifest id>: <name> (<file name>)`: what the file is, and which file it was (never its folder). */
function fileLabel(f: { readonly name: string; readonly model?: string; readonly path?: string }): string {
  const name = fileName(f.name);
  const file = f.path ? fileName(f.path) : undefined;
  return `${f.model ? `${f.model}: ` : ''}${name}${file && file !== name ? ` (${file})` : ''}`;
}

/**
 * The mode of metric `id` in a run: its declared conventions with the run's recorded version, `resize` option and
 * files.
 */
export function modeOf(id: string, recorded: RecordedMetric, conv: MetricConventions | undefined): MetricMode {
  const resizeOption = typeof recorded.options?.resize === 'string' ? recorded.options.resize : undefined;
  const resize = conv ? (conv.resize[resizeOption ?? 'none'] ?? conv.resize.default ?? `resize option '${resizeOption}'`) : UNKNOWN;
  return {
    id,
    version: recorded.version,
    implementation: conv?.implementation ?? UNKNOWN,
    input: conv?.input ?? UNKNOWN,
    resize,
    weights: recorded.weights,
    files: (recorded.files ?? []).map((f) => ({ label: fileLabel(f), sha256: f.sha256.slice(0, 12) })),
  };
}

/** Groups the runs of a column by identical mode (first-seen order). */
export function columnMode(entries: readonly { readonly runId: string; readonly mode: MetricMode }[]): ColumnMode {
  const groups = new Map<string, { mode: MetricMode; runIds: string[] }>();
  for (const e of entries) {
    const key = JSON.stringify(e.mode);
    const g = groups.get(key);
    if (g) g.runIds.push(e.runId);
    else groups.set(key, { mode: e.mode, runIds: [e.runId] });
  }
  return { variants: [...groups.values()] };
}

/** The mode as labelled lines (for a tooltip and the click-open panel). */
export function modeLines(m: MetricMode): [label: string, text: string][] {
  const weights =
    m.weights === 'none' && !m.files.length
      ? 'none (no network or statistics file)'
      : `${m.files.map((f) => `${f.label} (sha256 ${f.sha256}…)`).join('; ') || 'no file recorded'}${m.weights === 'test-random-init' ? ' — TEST NETWORK (random-init), not the real weights' : ''}`;
  return [
    ['metric', `${m.id} v${m.version}`],
    ['implementation', m.implementation],
    ['input', m.input],
    ['resize / crop', m.resize],
    ['weights', weights],
  ];
}

/** The whole column mode as plain text (a `title` tooltip). */
export function columnModeText(c: ColumnMode): string {
  return c.variants
    .map((v) => [...(c.variants.length > 1 ? [`${v.runIds.length} run(s): ${v.runIds.join(', ')}`] : []), ...modeLines(v.mode).map(([k, t]) => `${k}: ${t}`)].join('\n'))
    .join('\n\n');
}
