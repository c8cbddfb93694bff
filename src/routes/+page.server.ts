import type { PageServerLoad } from './$types';
import { resultsDir } from '$lib/server/dashboard/data.ts';
import { leaderboard } from '$lib/server/dashboard/leaderboard.ts';

// The URL is the state: ?over=own shows each run over its own samples instead of the shared ones.
export const load: PageServerLoad = async ({ url }) => {
  const over = url.searchParams.get('over') === 'own' ? 'own' : 'shared';
  const board = await leaderboard(resultsDir(), { over });
  return { resultsDir: resultsDir(), over, ...board };
};
