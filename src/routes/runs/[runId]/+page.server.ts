import type { PageServerLoad } from './$types';
import { readModel } from '$lib/server/dashboard/read-model.ts';
import { answer } from '$lib/server/dashboard/route.ts';

// The URL is the state: ?page=<n>, or ?sample=<id> (a link from a plot or a table) opens the page that holds it.
export const load: PageServerLoad = ({ params, url }) => answer(() => readModel().run(params.runId, url.searchParams));
