import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { runDetail } from '$lib/server/dashboard/data.ts';
import { publicError } from '$lib/server/dashboard/serve-file.ts';
import { missingThumbs } from '$lib/server/dashboard/browse.ts';
import { modeOfColumn } from '$lib/server/dashboard/leaderboard.ts';

const PAGE_SIZE = 24;

export const load: PageServerLoad = async ({ params, url }) => {
  let detail;
  try {
    detail = await runDetail(params.runId);
  } catch (err) {
    const e = publicError(err);
    error(e.status, e.message);
  }
  // ?sample=<id> (a link from a plot or a table) opens the page that holds that sample.
  const sample = url.searchParams.get('sample');
  const at = sample !== null && !url.searchParams.has('page') ? detail.samples.findIndex((s) => s.sampleId === sample) : -1;
  const page = at >= 0 ? Math.floor(at / PAGE_SIZE) : Math.max(0, Number(url.searchParams.get('page') ?? 0) || 0);
  const testWeights = detail.run.restorer.untrained || detail.run.metrics.some((m) => m.weights === 'test-random-init');
  const pages = Math.max(1, Math.ceil(detail.samples.length / PAGE_SIZE));
  const samples = detail.samples.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const kinds = (s: (typeof samples)[number]) => ['lq', ...(s.status === 'ok' ? ['output'] : []), ...(s.hasGt ? ['gt'] : []), ...Array.from({ length: s.numRefs }, (_, i) => `ref-${i}`)];
  const missing = missingThumbs(params.runId, samples.map((s) => [s.sampleId, kinds(s)] as const));
  // The exact mode of each metric of the summary table (shown on its name).
  const modes = Object.fromEntries(Object.keys(detail.summary?.metrics ?? {}).map((id) => [id, modeOfColumn(id, [detail.run])]));
  return { ...detail, samples, page, pages, totalSamples: detail.samples.length, missingThumbs: missing, testWeights, modes };
};
