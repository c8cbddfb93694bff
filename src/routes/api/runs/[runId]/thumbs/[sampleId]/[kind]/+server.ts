import type { RequestHandler } from './$types';
import { readModel } from '$lib/server/dashboard/read-model.ts';
import { answer } from '$lib/server/dashboard/route.ts';

// A thumbnail made by `run` / `refbench thumbs` (the dashboard never makes one: docs/security.md). When it is
// missing, the full image is served instead (307), and the header says so.
export const GET: RequestHandler = async ({ params }) => {
  const img = await answer(() => readModel().thumb(params.runId, params.sampleId, params.kind));
  if (!img) {
    const full = `/api/runs/${encodeURIComponent(params.runId)}/images/${encodeURIComponent(params.sampleId)}/${params.kind}`;
    return new Response(null, { status: 307, headers: { location: full, 'x-refbench-thumb': 'missing', 'cache-control': 'no-store' } });
  }
  return new Response(new Uint8Array(img.body), {
    headers: { 'content-type': img.contentType, 'cache-control': 'max-age=300', 'x-content-type-options': 'nosniff', 'x-refbench-thumb': 'hit' },
  });
};
