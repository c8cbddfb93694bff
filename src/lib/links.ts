/**
 * @file The dashboard's URLs, built in one place (runtime-neutral; pages and server code use them). Every view is
 * a plain URL whose query holds its state, so it can be shared, and so the static exporter (`refbench dashboard
 * --static`) finds every page by following links.
 */

/** A run's page. */
export function runHref(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

/**
 * Where one sample of one run opens (a click on a scatter point, a sample id in a table): the image browser
 * (`/browse`, dash-browser's route). Change it here and every link follows.
 */
export function sampleHref(runId: string, sampleId: string): string {
  return `/browse?${new URLSearchParams({ runs: runId, sample: sampleId })}`;
}

/** An image of a sample as the dashboard serves it (`kind`: output, lq, gt, ref-<i>). */
export function imageHref(runId: string, sampleId: string, kind: string): string {
  return `/api/runs/${encodeURIComponent(runId)}/images/${encodeURIComponent(sampleId)}/${kind}`;
}

/** The compare page's state: the runs, the baseline, the plotted metric, the run plotted against the baseline. */
export interface CompareState {
  readonly runs: readonly string[];
  readonly baseline?: string;
  readonly metric?: string;
  readonly vs?: string;
  readonly sample?: string;
  readonly order?: string;
  readonly page?: number;
}

/** The compare page for `s` (keys in a fixed order, empty ones left out, so equal states give equal URLs). */
export function compareHref(s: CompareState): string {
  const q = new URLSearchParams({ runs: s.runs.join(',') });
  if (s.baseline) q.set('baseline', s.baseline);
  if (s.metric) q.set('metric', s.metric);
  if (s.vs) q.set('vs', s.vs);
  if (s.sample) q.set('sample', s.sample);
  if (s.order) q.set('order', s.order);
  if (s.page) q.set('page', String(s.page));
  return `/compare?${q}`;
}
