import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { fusionPage } from '$lib/server/dashboard/fusion.ts';
import { publicError } from '$lib/server/dashboard/serve-file.ts';
import { DESIGN_NAMES } from '$lib/server/timing/paper-fusion.ts';

// Every `refbench bench fusion` result and PyTorch-engine bench JSON, as the paper's Tables 2 and 6.
export const load: PageServerLoad = async () => {
  try {
    return { ...fusionPage(), names: { ...DESIGN_NAMES } as Record<string, string> };
  } catch (err) {
    const e = publicError(err);
    error(e.status, e.message);
  }
};
