/**
 * @file Cosine similarity in float64, torch `F.cosine_similarity` semantics (each norm clamped below by `eps`).
 * Runtime-neutral.
 */

/**
 * cos(a, b) = a·b / (max(‖a‖, eps) · max(‖b‖, eps)), accumulated in float64.
 * @param a vector (e.g. a 512-d ArcFace embedding)
 * @param b vector of the same length
 * @param eps torch's default 1e-8
 * @throws Error when the lengths differ or a value is not finite.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-8): number {
  if (a.length !== b.length) throw new Error(`cosineSimilarity: length mismatch ${a.length} vs ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (!Number.isFinite(dot) || !Number.isFinite(na) || !Number.isFinite(nb)) {
    throw new Error('cosineSimilarity: input contains NaN or Infinity');
  }
  return dot / (Math.max(Math.sqrt(na), eps) * Math.max(Math.sqrt(nb), eps));
}
