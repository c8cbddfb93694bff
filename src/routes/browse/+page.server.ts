import { redirect } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { readModel } from '$lib/server/dashboard/read-model.ts';
import { answer } from '$lib/server/dashboard/route.ts';

// The image browser. The URL holds its whole state (docs/dashboard.md); the view's zoom, pan and flip state are
// client-side parameters of the same URL and do not reach the server.
export const load: PageServerLoad = ({ url }) =>
  answer(async () => {
    const page = await readModel().browse(url.searchParams);
    if ('redirect' in page) redirect(303, page.redirect);
    return page;
  });
