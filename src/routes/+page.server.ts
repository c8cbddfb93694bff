import type { PageServerLoad } from './$types';
import { resultsDir, runsIndex } from '$lib/server/dashboard/data.ts';

export const load: PageServerLoad = async () => {
  const { runs, problems } = await runsIndex();
  const groups = [...new Set(runs.map((r) => r.group))].sort();
  return { resultsDir: resultsDir(), problems, groups: groups.map((g) => ({ group: g, runs: runs.filter((r) => r.group === g) })) };
};
