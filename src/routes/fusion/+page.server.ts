import type { PageServerLoad } from './$types';
import { readModel } from '$lib/server/dashboard/read-model.ts';
import { answer } from '$lib/server/dashboard/route.ts';

// Every `refbench bench fusion` result and PyTorch-engine bench JSON, as the paper's Tables 2 and 6.
export const load: PageServerLoad = () => answer(() => readModel().fusion());
