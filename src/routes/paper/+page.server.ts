import type { PageServerLoad } from './$types';
import { readModel } from '$lib/server/dashboard/read-model.ts';
import { answer } from '$lib/server/dashboard/route.ts';

// The URL is the state: ?data=paper|embedded&restorer=<profile of experiments/restorers.yaml>
export const load: PageServerLoad = ({ url }) => answer(() => readModel().paper({ data: url.searchParams.get('data'), restorer: url.searchParams.get('restorer') }));
