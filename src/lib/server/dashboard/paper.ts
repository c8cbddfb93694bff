/**
 * @file The dashboard's paper page: Tables 2, 5, 6 and 7 with our matching runs beside the paper's numbers and Δ,
 * and the series of its charts. The tables come from `buildPaperReport` (experiments/paper-report.ts), the one
 * experiment→table mapping that `refbench report --paper` uses too; this module only picks the benchmarks
 * (`paper`: the paper's own, `embedded`: the synthfaces-ref stand-ins) and shapes the chart series.
 *
 * A pure read, like every dashboard route: no summary, cache or config file is written.
 */
import { loadExperiment, EXPERIMENT_IDS } from '../experiments/experiments.ts';
import { buildPaperReport, type PaperReport } from '../experiments/paper-report.ts';
import { fusionCell, fusionReports, profileFusions, type ProfileBench } from '../experiments/fusion-results.ts';
import { loadProfiles } from '../experiments/experiments.ts';
import { UserConfig } from '../experiments/user-config.ts';
import { DESIGN_NAMES } from '../timing/paper-fusion.ts';
import type { ReadContext } from './context.ts';

/** One line of a chart: a label and y per x (null = no value). */
export interface Series {
  readonly label: string;
  readonly data: readonly (number | null)[];
  /** `paper` series are drawn dashed. */
  readonly source: 'ours' | 'paper';
}

/** A chart: x labels and series. */
export interface ChartData {
  readonly id: string;
  readonly title: string;
  readonly x: readonly string[];
  readonly series: readonly Series[];
  readonly yLabel: string;
}

/** The page's data. */
export interface PaperPage {
  readonly data: 'paper' | 'embedded';
  readonly restorer: string;
  readonly restorers: readonly string[];
  readonly tables: readonly PaperReport[];
  readonly charts: readonly ChartData[];
  /** Errors building one table (the others still show). */
  readonly problems: readonly string[];
}

function cellOf(r: PaperReport, method: string, key: string, groupIndex = 0) {
  return r.groups[groupIndex]?.rows.find((x) => x.method === method)?.cells.find((c) => c.key === key);
}

/** Table 5's chart: IDS and LPIPS against the maximum number of references, ours and the paper's. */
function table5Charts(r: PaperReport): ChartData[] {
  const rows = r.groups[0]?.rows ?? [];
  const x = rows.map((row) => String(cellOf(r, row.method, 'max_num_refs')?.paper ?? row.method));
  return (['ids', 'lpips'] as const).map((k) => ({
    id: `table5-${k}`,
    title: `Table 5: ${k === 'ids' ? 'IDS ↑' : 'LPIPS ↓'} against the maximum number of references`,
    x,
    yLabel: k === 'ids' ? 'IDS' : 'LPIPS',
    series: [
      { label: `ours (${r.groups[0]?.benchmark.id ?? '—'})`, source: 'ours' as const, data: rows.map((row) => cellOf(r, row.method, k)?.ours ?? null) },
      { label: 'paper (FFHQ-Ref-Severe)', source: 'paper' as const, data: rows.map((row) => cellOf(r, row.method, k)?.paper ?? null) },
    ],
  }));
}

/** Table 6's chart: time against references, one series per design we benchmarked, plus the paper's two GPUs. */
function table6Chart(r6: PaperReport, bench: ProfileBench | undefined, root: string): ChartData {
  const refs = [1, 3, 5, 8];
  const series: Series[] = [];
  // The same benches as the tables' time and memory cells (experiments/fusion-results.ts `profileFusions`).
  const reports = profileFusions(fusionReports(root), bench);
  for (const [design, name] of Object.entries(DESIGN_NAMES)) {
    const data = refs.map((n) => {
      const cell = fusionCell(reports, design, n);
      return cell ? cell.row.timeMs! / 1000 : null;
    });
    if (data.some((v) => v !== null)) series.push({ label: `ours: ${name} (${reports[0]?.device ?? ''})`, source: 'ours', data });
  }
  const rows = r6.groups[0]?.rows ?? [];
  for (const [key, label] of [['time_1080', 'paper: CacheKV, GTX 1080'], ['time_3090', 'paper: CacheKV, RTX 3090']] as const) {
    series.push({ label, source: 'paper', data: refs.map((n) => rows.find((row) => cellOf(r6, row.method, 'num_refs')?.paper === n)?.cells.find((c) => c.key === key)?.paper ?? null) });
  }
  return { id: 'table6-time', title: 'Table 6: time per image against the number of references', x: refs.map(String), yLabel: 's / image', series };
}

/** Table 2's charts: time and memory per fusion design, ours and the paper's. */
function table2Charts(r: PaperReport): ChartData[] {
  const rows = r.groups[0]?.rows ?? [];
  return (['inference_time', 'memory'] as const).map((k) => ({
    id: `table2-${k === 'inference_time' ? 'time' : 'memory'}`,
    title: `Table 2: ${k === 'inference_time' ? 'time per image' : 'memory'} per fusion design (5 references)`,
    x: rows.map((row) => row.method),
    yLabel: k === 'inference_time' ? 's / image' : 'GB',
    series: [
      { label: `ours (${r.fusion ? `bench fusion, ${r.fusion.device}` : 'not run'})`, source: 'ours' as const, data: rows.map((row) => cellOf(r, row.method, k)?.ours ?? null) },
      { label: 'paper (GTX 1080)', source: 'paper' as const, data: rows.map((row) => cellOf(r, row.method, k)?.paper ?? null) },
    ],
  }));
}

/**
 * Builds the page: `data` picks the benchmarks (the paper's, or the embedded stand-ins), `restorer` the profile.
 * The user config is read (never written) for the paper's benchmarks' paths; rows it cannot fill show as blocked.
 */
export async function paperPage(ctx: ReadContext, opts: { data?: string | null; restorer?: string | null } = {}): Promise<PaperPage> {
  const root = ctx.root;
  const data = opts.data === 'embedded' ? 'embedded' : 'paper';
  const profiles = loadProfiles();
  const restorer = opts.restorer && profiles.has(opts.restorer) ? opts.restorer : data === 'embedded' ? 'refldm-tiny' : 'refldm-paper';
  let config: UserConfig;
  const problems: string[] = [];
  try {
    config = UserConfig.load();
  } catch (err) {
    problems.push((err as Error).message);
    config = UserConfig.of({});
  }
  const tables: PaperReport[] = [];
  for (const id of ['table2', 'table5', 'table6', 'table7'] satisfies (typeof EXPERIMENT_IDS)[number][]) {
    try {
      const exp = loadExperiment(id);
      tables.push(await buildPaperReport(id, { config, resultsDir: root, restorer, benchmarks: data === 'embedded' ? exp.embedded : exp.benchmarks }));
    } catch (err) {
      problems.push(`${id}: ${(err as Error).message}`);
    }
  }
  const t = (id: string) => tables.find((x) => x.experiment === id);
  const charts: ChartData[] = [];
  if (t('table5')) charts.push(...table5Charts(t('table5')!));
  if (t('table6')) charts.push(table6Chart(t('table6')!, profiles.get(restorer)?.bench, root));
  if (t('table2')) charts.push(...table2Charts(t('table2')!));
  return { data, restorer, restorers: [...profiles.keys()].filter((p) => profiles.get(p)!.restorer.id === 'ref-ldm'), tables, charts, problems };
}
