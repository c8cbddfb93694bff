import type { PageServerLoad } from './$types';
import { readModel } from '$lib/server/dashboard/read-model.ts';
import { answer } from '$lib/server/dashboard/route.ts';

const SAMPLES_PER_PAGE = 48;

// The URL is the state: ?runs=a,b,c&baseline=a&metric=psnr&vs=b&sample=00003&page=0
export const load: PageServerLoad = ({ url }) =>
  answer(async () => {
    const p = url.searchParams;
    const runs = (p.get('runs') ?? '').split(',').filter(Boolean);
    const cmp = await readModel().compare({ runs, baseline: p.get('baseline'), metric: p.get('metric'), vs: p.get('vs') });
    const ids = cmp.shared.ids;
    const asked = p.get('sample');
    const sample = asked !== null && ids.includes(asked) ? asked : (ids[0] ?? null);
    const pages = Math.max(1, Math.ceil(ids.length / SAMPLES_PER_PAGE));
    const pageParam = Number(p.get('page'));
    const page = p.has('page') && Number.isInteger(pageParam) ? Math.min(pages - 1, Math.max(0, pageParam)) : sample ? Math.floor(ids.indexOf(sample) / SAMPLES_PER_PAGE) : 0;
    return { ...cmp, sample, page, pages, pageIds: ids.slice(page * SAMPLES_PER_PAGE, (page + 1) * SAMPLES_PER_PAGE) };
  });
