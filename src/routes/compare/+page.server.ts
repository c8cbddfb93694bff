import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { compareRuns } from '$lib/server/dashboard/data.ts';
import { publicError } from '$lib/server/dashboard/serve-file.ts';

// The URL is the state: ?runs=a,b&metric=psnr&sample=00003
export const load: PageServerLoad = async ({ url }) => {
  const runs = (url.searchParams.get('runs') ?? '').split(',').filter(Boolean);
  if (runs.length === 0) error(400, 'pass ?runs=<runId>,<runId>');
  const metric = url.searchParams.get('metric') ?? 'psnr';
  try {
    const cmp = await compareRuns(runs, metric);
    const metrics = [...new Set(cmp.runs.flatMap((r) => r.metrics.map((m) => m.id)))].sort();
    const sample = url.searchParams.get('sample') ?? cmp.sampleIds[0] ?? null;
    return { ...cmp, metric, metrics, sample };
  } catch (err) {
    const e = publicError(err);
    error(e.status, e.message);
  }
};
