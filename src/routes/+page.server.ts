import type { PageServerLoad } from './$types';
import { listRuns, resultsDir } from '$lib/server/dashboard/data.ts';

export const load: PageServerLoad = async () => {
  const runs = await listRuns();
  const groups = [...new Set(runs.map((r) => r.group))].sort();
  return { resultsDir: resultsDir(), groups: groups.map((g) => ({ group: g, runs: runs.filter((r) => r.group === g) })) };
};
