import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { paperPage } from '$lib/server/dashboard/paper.ts';
import { publicError } from '$lib/server/dashboard/serve-file.ts';

// The URL is the state: ?data=paper|embedded&restorer=<profile of experiments/restorers.yaml>
export const load: PageServerLoad = async ({ url }) => {
  try {
    return await paperPage({ data: url.searchParams.get('data'), restorer: url.searchParams.get('restorer') });
  } catch (err) {
    const e = publicError(err);
    error(e.status, e.message);
  }
};
