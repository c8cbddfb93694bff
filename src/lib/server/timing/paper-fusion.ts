/**
 * @file The paper's fusion-design cost numbers, read from `benchmarks/paper-tables.json` (Hsiao et al., NeurIPS 2024;
 * never copied by hand): table `table2` (five references, one GTX 1080) and table `table6` (time vs number of
 * references, GTX 1080 and RTX 3090). Units are not stated in the paper (likely seconds per image and GB of GPU
 * memory; paper-tables.json `units_note`).
 */
import type { DesignId } from '../restorers/ref-ldm/designs.ts';
import { paperValue } from '../../eval/paper/paper-tables.ts';
import { paperTable } from '../experiments/paper-data.ts';

/** Display names as in the paper's Table 2 (its row names). */
export const DESIGN_NAMES: Readonly<Record<DesignId, string>> = Object.freeze({
  channel: 'Channel-concatenation',
  cross: 'Cross-attention',
  spatial: 'Spatial-concatenation',
  cachekv: 'CacheKV',
});

function num(v: { value: number | null }, what: string): number {
  if (v.value === null) throw new Error(`paper-tables.json: ${what} has no value`);
  return v.value;
}

/** table2: inference time, memory and IDS with 5 references, GTX 1080, per design. */
export const PAPER_TABLE2: Readonly<Record<DesignId, { time: number; memory: number; ids: number }>> = (() => {
  const t = paperTable('table2');
  const out = {} as Record<DesignId, { time: number; memory: number; ids: number }>;
  for (const [d, name] of Object.entries(DESIGN_NAMES) as [DesignId, string][]) {
    out[d] = {
      time: num(paperValue(t, name, 'inference_time'), `table2 ${name} inference_time`),
      memory: num(paperValue(t, name, 'memory'), `table2 ${name} memory`),
      ids: num(paperValue(t, name, 'ids'), `table2 ${name} ids`),
    };
  }
  return Object.freeze(out);
})();

/** table6: CacheKV inference time vs number of references; null = out of memory on the GTX 1080. */
export const PAPER_TABLE6: readonly { refs: number; time1080: number | null; time3090: number | null }[] = (() => {
  const t = paperTable('table6');
  return Object.freeze(
    t.rows.map((r) => ({
      refs: num(paperValue(t, r.method, 'num_refs'), `table6 ${r.method} num_refs`),
      time1080: paperValue(t, r.method, 'time_1080').value,
      time3090: paperValue(t, r.method, 'time_3090').value,
    })),
  );
})();
