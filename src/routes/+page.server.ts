import type { PageServerLoad } from './$types';
import { readModel } from '$lib/server/dashboard/read-model.ts';
import { answer } from '$lib/server/dashboard/route.ts';

// The URL is the state: ?over=own shows each run over its own samples instead of the shared ones; the sort and the
// filter of the tables (?q=, ?sort=) are read by the page itself ($lib/leaderboard-view.ts).
export const load: PageServerLoad = ({ url }) =>
  answer(async () => {
    const over = url.searchParams.get('over') === 'own' ? 'own' : 'shared';
    const model = readModel();
    return { resultsDir: model.root, over, ...(await model.leaderboard(over)) };
  });
