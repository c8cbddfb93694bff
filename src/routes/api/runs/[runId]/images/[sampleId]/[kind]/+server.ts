import type { RequestHandler } from './$types';
import { readModel } from '$lib/server/dashboard/read-model.ts';
import { answer } from '$lib/server/dashboard/route.ts';

// Containment, magic-byte typing and path-free errors live in $lib/server/dashboard/serve-file.ts.
export const GET: RequestHandler = async ({ params }) => {
  const img = await answer(() => readModel().image(params.runId, params.sampleId, params.kind));
  return new Response(new Uint8Array(img.body), {
    headers: { 'content-type': img.contentType, 'cache-control': 'max-age=60', 'x-content-type-options': 'nosniff' },
  });
};
