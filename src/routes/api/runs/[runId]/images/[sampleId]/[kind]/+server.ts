import { error } from '@sveltejs/kit';
import { readFile } from 'node:fs/promises';
import type { RequestHandler } from './$types';
import { imageFile } from '$lib/server/dashboard/data.ts';

const TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', bmp: 'image/bmp' };

export const GET: RequestHandler = async ({ params }) => {
  let path: string;
  try {
    path = await imageFile(params.runId, params.sampleId, params.kind);
  } catch (err) {
    error(404, err instanceof Error ? err.message : String(err));
  }
  const body = await readFile(path).catch(() => error(404, `${path}: not found`));
  const ext = path.split('.').pop()?.toLowerCase() ?? '';
  return new Response(new Uint8Array(body), { headers: { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'max-age=60' } });
};
