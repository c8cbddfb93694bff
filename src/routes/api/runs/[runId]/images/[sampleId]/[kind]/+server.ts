import { error } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { imageFile } from '$lib/server/dashboard/data.ts';
import { publicError } from '$lib/server/dashboard/serve-file.ts';

// Containment, magic-byte typing and path-free errors live in $lib/server/dashboard/serve-file.ts.
export const GET: RequestHandler = async ({ params }) => {
  let img;
  try {
    img = await imageFile(params.runId, params.sampleId, params.kind);
  } catch (err) {
    const e = publicError(err);
    error(e.status, e.message);
  }
  return new Response(new Uint8Array(img.body), {
    headers: { 'content-type': img.contentType, 'cache-control': 'max-age=60', 'x-content-type-options': 'nosniff' },
  });
};
