/**
 * @file The paper's fusion-design cost numbers, copied from `paper-tables.json` (team reference pack, shared/reference/)
 * (Hsiao et al., NeurIPS 2024): table id `table2` (five references, one GTX 1080) and table id `table6`
 * (time vs number of references, GTX 1080 and RTX 3090). Units are not stated in the paper (likely seconds per
 * image and GB of GPU memory; paper-tables.json `units_note`).
 */
import type { DesignId } from '../restorers/ref-ldm/designs.ts';

/** table2: inference time and memory with 5 references, GTX 1080. */
export const PAPER_TABLE2: Readonly<Record<DesignId, { time: number; memory: number; ids: number }>> = Object.freeze({
  channel: { time: 4.17, memory: 1.77, ids: 0.23 },
  cross: { time: 14.54, memory: 2.8, ids: 0.23 },
  spatial: { time: 58.36, memory: 7.44, ids: 0.69 },
  cachekv: { time: 12.15, memory: 2.87, ids: 0.65 },
});

/** table6: CacheKV inference time vs number of references; null = out of memory on the GTX 1080. */
export const PAPER_TABLE6: readonly { refs: number; time1080: number | null; time3090: number }[] = Object.freeze([
  { refs: 1, time1080: 4.86, time3090: 3.0 },
  { refs: 3, time1080: 7.09, time3090: 3.54 },
  { refs: 5, time1080: 12.03, time3090: 4.51 },
  { refs: 8, time1080: null, time3090: 6.26 },
]);

/** Display names as in the paper's Table 2. */
export const DESIGN_NAMES: Readonly<Record<DesignId, string>> = Object.freeze({
  channel: 'Channel-concatenation',
  cross: 'Cross-attention',
  spatial: 'Spatial-concatenation',
  cachekv: 'CacheKV',
});
