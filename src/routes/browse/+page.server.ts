import { error, isRedirect, redirect } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { browse, parseBrowseQuery, pickableRuns, selectedRuns } from '$lib/server/dashboard/browse.ts';
import { publicError } from '$lib/server/dashboard/serve-file.ts';

// The image browser. The URL holds its whole state (docs/dashboard.md); the view's zoom, pan and flip state are
// client-side parameters of the same URL and do not reach the server.
export const load: PageServerLoad = async ({ url }) => {
  try {
    // No run selected: a picker (its checkboxes come back as repeated `runs`, folded into one list below).
    if (!selectedRuns(url.searchParams).length) return { picker: pickableRuns() };
    if (url.searchParams.getAll('runs').length > 1) {
      const p = new URLSearchParams(url.searchParams);
      p.set('runs', selectedRuns(url.searchParams).join(','));
      redirect(303, `/browse?${p}`);
    }
    return { picker: null, ...browse(parseBrowseQuery(url.searchParams)) };
  } catch (err) {
    if (isRedirect(err)) throw err;
    const e = publicError(err);
    error(e.status, e.message);
  }
};
