/**
 * @file The static snapshot's script (`refbench dashboard --static`, bundled by ../snapshot.ts into
 * assets/static.js): compare and the image browser drawn in the browser from the snapshot's data scripts, and the
 * leaderboard's run picker. Compare uses src/lib/eval/stats, the code the live dashboard's server uses
 * (src/lib/server/dashboard/compare.ts), on the same per-sample values in the same order, so it shows the same
 * numbers. Works from file:// (no fetch, no history API: state changes go to the URL's fragment).
 */
import { arrow, fmt } from '../../../../format.ts';
import { columnModeText, modeLines, type ColumnMode } from '../../../../eval/metrics/conventions.ts';
import type { StaticMetric } from '../data.ts';
import { unpackBench, type PackedBench } from '../pack.ts';
import { computeCompare, sharedSamples, valuesOn, type Bench } from './compute.ts';
interface Index {
  runs: Record<string, string>;
  benchmarks: { key: string; name: string; runs: string[] }[];
  images: string;
}
declare global {
  interface Window {
    REFBENCH_INDEX?: Index;
    REFBENCH_DATA?: Record<string, PackedBench>;
  }
}

const script = document.currentScript as HTMLScriptElement | null;
/** The snapshot's root relative to this page, from how the page names this script (`../assets/static.js`): links stay relative. */
const ROOT = (script?.getAttribute('src') ?? 'assets/static.js').replace(/assets\/static\.js$/, '');

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function loadBench(key: string): Promise<Bench> {
  const have = window.REFBENCH_DATA?.[key];
  if (have) return Promise.resolve(unpackBench(have));
  return new Promise((ok, fail) => {
    const s = document.createElement('script');
    s.src = `${ROOT}data/${key}.js`;
    s.onload = () => {
      const data = window.REFBENCH_DATA?.[key];
      if (!data) return fail(new Error(`data/${key}.js did not define its data`));
      try {
        ok(unpackBench(data));
      } catch (err) {
        fail(err as Error);
      }
    };
    s.onerror = () => fail(new Error(`data/${key}.js could not be loaded`));
    document.head.append(s);
  });
}

/** The page's state: its query, with the fragment's parameters over it (the fragment is where key presses write). */
function params(): URLSearchParams {
  const p = new URLSearchParams(location.search);
  const runs = p.getAll('runs');
  if (runs.length > 1) p.set('runs', runs.join(','));
  for (const [k, v] of new URLSearchParams(location.hash.slice(1))) p.set(k, v);
  return p;
}

function runsOf(p: URLSearchParams): string[] {
  return [...new Set((p.get('runs') ?? '').split(',').filter(Boolean))];
}

/** The benchmark all `ids` belong to, or a message saying why there is none. */
async function benchOf(ids: string[]): Promise<Bench | string> {
  const idx = window.REFBENCH_INDEX;
  if (!idx) return 'data/index.js is missing from this snapshot';
  if (!ids.length) return 'pass ?runs=<runId>,<runId> (pick runs on the leaderboard)';
  const unknown = ids.filter((id) => !idx.runs[id]);
  if (unknown.length) return `not in this snapshot: ${unknown.join(', ')}`;
  const keys = new Set(ids.map((id) => idx.runs[id]));
  if (keys.size > 1) return `these runs are of different benchmarks (${[...keys].map((k) => idx.benchmarks.find((b) => b.key === k)?.name ?? k).join(' vs ')}); the snapshot compares runs of one benchmark`;
  return loadBench([...keys][0]);
}

const img = (b: Bench, runId: string, sampleId: string, kind: string) => {
  const f = b.images[runId]?.[sampleId]?.[kind];
  return f ? ROOT + f : null;
};

const fmtP = (p: number | null) => (p === null ? '—' : p < 0.001 ? p.toExponential(1) : p.toFixed(3));
const signed = (v: number, d: number) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(d)}`;

/**
 * A metric header's exact mode, as src/lib/components/MetricMode.svelte draws it on the live pages: the whole text
 * on hover (title), the same lines in a <details> panel on click.
 */
function metricModeHtml(mode: ColumnMode | undefined, label: string): string {
  if (!mode?.variants.length) return '';
  let h = `<details class="mode" data-testid="metric-mode"><summary title="${esc(columnModeText(mode))}" aria-label="how ${esc(label)} is computed">ⓘ</summary><div class="panel" role="note">`;
  for (const v of mode.variants) {
    if (mode.variants.length > 1) h += `<div class="runs">${v.runIds.length} run${v.runIds.length === 1 ? '' : 's'}: ${esc(v.runIds.join(', '))}</div>`;
    h += `<dl>${modeLines(v.mode).map(([k, t]) => `<dt>${esc(k)}</dt><dd data-key="${esc(k)}">${esc(t)}</dd>`).join('')}</dl>`;
  }
  return `${h}</div></details>`;
}

function compareHref(s: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const k of ['runs', 'baseline', 'metric', 'vs', 'sample']) if (s[k]) q.set(k, s[k]!);
  return `${ROOT}compare.html?${q}`;
}
const runHref = (id: string) => `${ROOT}runs/${encodeURIComponent(id)}.html`;
const browseHref = (runs: string[], sample: string) => `${ROOT}browse.html?${new URLSearchParams({ runs: runs.join(','), sample })}`;

function renderCompare(el: HTMLElement, b: Bench, ids: string[], p: URLSearchParams): void {
  const c = computeCompare(b, ids, p);
  const state = { runs: ids.join(','), baseline: c.baseline, metric: c.metric?.id, vs: c.vs ?? undefined, sample: p.get('sample') ?? undefined };
  const href = (x: Record<string, string | undefined>) => compareHref({ ...state, ...x });
  const label = (id: string) => c.runs.find((r) => r.runId === id)?.name ?? id;
  const others = c.runs.filter((r) => r.runId !== c.baseline);
  const sh = c.shared;
  const left = [sh.missing ? `${sh.missing} missing in some run` : '', sh.failed ? `${sh.failed} failed in some run` : '', sh.differentInputs ? `${sh.differentInputs} with different inputs` : '', sh.unverified ? `${sh.unverified} without an input hash` : ''].filter(Boolean).join(', ');
  let h = `<h1>Compare</h1><p data-testid="shared">Over the <strong>${sh.ids.length} shared of ${sh.total}</strong> samples (same sample id and input in all ${c.runs.length} runs)${sh.ids.length < sh.total ? `: <span class="badge err" data-testid="shared-warning">${left} — left out</span>` : ''}.</p>`;
  h += `<h2>Runs</h2><div class="scroll"><table data-testid="runs"><thead><tr><th>baseline</th><th>run</th><th>restorer · settings</th></tr></thead><tbody>`;
  for (const r of c.runs)
    h += `<tr><td>${r.runId === c.baseline ? '<strong>baseline</strong>' : `<a href="${esc(href({ baseline: r.runId, vs: c.baseline }))}" data-testid="make-baseline">make baseline</a>`}</td><td class="id"><a href="${esc(runHref(r.runId))}">${esc(r.runId)}</a>${r.untrained ? ' <span class="badge">untrained</span>' : ''}</td><td>${esc(r.restorer)} <span class="muted">${esc(r.settings)}</span> ${r.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join('')}</td></tr>`;
  h += `</tbody></table></div><h2>Against the baseline</h2><p class="muted">Per metric: the mean over the shared samples [95% bootstrap CI]; for each other run Δ = run − baseline with its paired bootstrap 95% CI, the per-image win rate and the Wilcoxon signed-rank p-value (two-sided), computed in this page by the dashboard's statistics code.</p>`;
  h += `<div class="scroll"><table data-testid="deltas"><thead><tr><th>metric</th><th class="num">baseline: ${esc(label(c.baseline))}</th>${others.map((r) => `<th class="num" data-run="${esc(r.runId)}">${esc(label(r.runId))}<div class="muted id">${esc(r.restorer)} ${esc(r.settings)}</div></th>`).join('')}</tr></thead><tbody>`;
  const cell = (m: StaticMetric, v: { value: number | null; ci95: readonly [number, number] | null; n: number; testWeights: boolean; error?: string } | undefined) =>
    v?.error ? `<span class="badge err" title="${esc(v.error)}">error</span>` : v ? `${fmt(v.value, m.decimals)}${v.testWeights ? '<span class="badge t">test</span>' : ''}` : '—';
  for (const m of c.columns) {
    const bv = c.values[c.baseline]?.[m.id];
    h += `<tr data-metric="${esc(m.id)}"${c.metric?.id === m.id ? ' class="current"' : ''}><th scope="row">${m.set ? `${esc(m.label)} ${arrow(m.higherIsBetter)} ${metricModeHtml(m.mode, m.label)}<div class="muted">set metric${m.reference ? ` vs ${esc(m.reference)}` : ''}</div>` : `<a href="${esc(href({ metric: m.id }))}">${esc(m.label)} ${arrow(m.higherIsBetter)}</a> ${metricModeHtml(m.mode, m.label)}`}</th>`;
    h += `<td class="num" data-cell="baseline">${cell(m, bv)}${bv && !bv.error ? `<div class="ci">${bv.ci95 ? `[${fmt(bv.ci95[0], m.decimals)}, ${fmt(bv.ci95[1], m.decimals)}]` : m.set ? `n=${bv.n}` : ''}</div>` : ''}</td>`;
    for (const r of others) {
      const v = c.values[r.runId]?.[m.id];
      const d = c.deltas[r.runId]?.[m.id];
      const pv = d?.wilcoxon && Number.isFinite(d.wilcoxon.pvalue) ? d.wilcoxon.pvalue : null;
      h += `<td class="num" data-run="${esc(r.runId)}" data-delta="${d?.delta ?? ''}" data-ci-lo="${d?.ci95?.[0] ?? ''}" data-ci-hi="${d?.ci95?.[1] ?? ''}" data-win-rate="${d?.winRate ?? ''}" data-p="${pv ?? ''}">${cell(m, v)}`;
      if (v && !v.error && d) {
        const better = d.ci95 && (m.higherIsBetter ? d.ci95[0] > 0 : d.ci95[1] < 0);
        const worse = d.ci95 && (m.higherIsBetter ? d.ci95[1] < 0 : d.ci95[0] > 0);
        h += `<div class="delta${better ? ' better' : ''}${worse ? ' worse' : ''}" title="Δ over ${d.n} pairs">Δ ${signed(d.delta, m.decimals)} [${signed(d.ci95?.[0] ?? NaN, m.decimals)}, ${signed(d.ci95?.[1] ?? NaN, m.decimals)}]</div><div class="ci">wins ${(d.winRate * 100).toFixed(0)}% (${d.wins}/${d.n}${d.ties ? `, ${d.ties} ties` : ''}) · p=${fmtP(pv)}</div>`;
      } else if (v && !v.error && m.set && v.value !== null && bv?.value != null) h += `<div class="ci">Δ ${signed(v.value - bv.value, m.decimals)} (no CI: one value per run)</div>`;
      h += '</td>';
    }
    h += '</tr>';
  }
  h += '</tbody></table></div>';
  if (c.unknownMetric !== null) h += `<p class="badge err" data-testid="unknown-metric">No run here has a metric '${esc(c.unknownMetric)}'. Pick one of: ${c.columns.map((m) => esc(m.id)).join(', ')}.</p>`;
  const sample = (p.get('sample') && sh.ids.includes(p.get('sample')!) ? p.get('sample') : sh.ids[0]) ?? null;
  if (sample) {
    h += `<h2>Sample ${esc(sample)}</h2><nav class="samples" data-testid="sample-links">${sh.ids
      .slice(0, 200)
      .map((s) => `<a href="${esc(href({ sample: s }))}"${s === sample ? ' class="cur"' : ''}>${esc(s)}</a>`)
      .join(' ')}${sh.ids.length > 200 ? ` <span class="muted">(${sh.ids.length - 200} more in the image browser)</span>` : ''}</nav><div class="outputs" data-testid="outputs">`;
    const fig = (src: string | null, cap: string, link?: string) => `<figure>${link ? `<a href="${esc(link)}">` : ''}${src ? `<img src="${esc(src)}" alt="${esc(cap)}">` : '<div class="noimg">no image in this snapshot</div>'}${link ? '</a>' : ''}<figcaption>${esc(cap)}</figcaption></figure>`;
    h += fig(img(b, c.baseline, sample, 'lq'), 'LQ input');
    for (const r of c.runs) {
      const v = c.metric && !c.metric.set ? valuesOn(r, c.metric.id, [sample])[0] : null;
      h += fig(img(b, r.runId, sample, 'output'), `${r.runId === c.baseline ? 'baseline: ' : ''}${label(r.runId)}${c.metric && v != null ? ` · ${c.metric.label} ${fmt(v, c.metric.decimals)}` : ''}`, browseHref(ids, sample));
    }
    h += `${fig(img(b, c.baseline, sample, 'gt'), 'ground truth')}</div>`;
  }
  el.innerHTML = h;
}

// ---------------------------------------------------------------------------------------------------------------
// The image browser: the samples the chosen runs share, one at a time; ←/→ (or j/k) step, the state is in the URL.

function renderPicker(el: HTMLElement): void {
  const idx = window.REFBENCH_INDEX!;
  let h = '<h1>Image browser</h1><form method="GET" action="browse.html" data-testid="run-picker"><p class="muted">Pick the runs to browse (runs on the same benchmark share their samples).</p>';
  for (const b of idx.benchmarks) {
    h += `<h2>${esc(b.name)}</h2>`;
    for (const id of b.runs) h += `<div><label><input type="checkbox" name="runs" value="${esc(id)}"> ${esc(id)}</label></div>`;
  }
  el.innerHTML = `${h}<button type="submit">browse</button></form>`;
}

function renderBrowse(el: HTMLElement, b: Bench, ids: string[]): void {
  const runs = ids.map((id) => b.runs.find((r) => r.runId === id)!);
  const sh = sharedSamples(runs);
  const draw = () => {
    const p = params();
    const asked = p.get('sample');
    const i = Math.max(0, asked ? sh.ids.indexOf(asked) : 0);
    const sample = sh.ids[i];
    if (!sample) {
      el.innerHTML = `<h1>Image browser</h1><p data-testid="shared">0 shared of ${sh.total} samples.</p>`;
      return;
    }
    const metrics = b.metrics.filter((m) => !m.set);
    const pane = (key: string, label: string, src: string | null) => `<figure class="pane" data-testid="pane" data-pane="${esc(key)}">${src ? `<img src="${esc(src)}" alt="${esc(label)}">` : '<div class="noimg">no image in this snapshot</div>'}<figcaption>${esc(label)}</figcaption></figure>`;
    let h = `<h1>Image browser</h1><p class="muted" data-testid="shared">${sh.ids.length} shared of ${sh.total} samples · keys: ←/→ (or j/k) sample</p>`;
    h += `<p><button type="button" data-step="-1">←</button> <strong data-testid="current-sample">${esc(sample)}</strong> <span class="muted">(${i + 1} of ${sh.ids.length})</span> <button type="button" data-step="1">→</button></p><div class="outputs">`;
    h += pane('lq', 'LQ input', img(b, ids[0], sample, 'lq'));
    for (const r of runs) h += pane(`output:${r.runId}`, `${r.restorer} ${r.settings}`.trim() || r.runId, img(b, r.runId, sample, 'output'));
    h += pane('gt', 'GT', img(b, ids[0], sample, 'gt'));
    const refs = Object.keys(b.images[ids[0]]?.[sample] ?? {}).filter((k) => k.startsWith('ref-')).sort();
    for (const k of refs) h += pane(k, k.replace('-', ' '), img(b, ids[0], sample, k));
    h += `</div><table data-testid="sample-values"><thead><tr><th>metric</th>${runs.map((r) => `<th class="num">${esc(r.name)}</th>`).join('')}</tr></thead><tbody>`;
    for (const m of metrics) h += `<tr data-metric="${esc(m.id)}"><td>${esc(m.label)} ${arrow(m.higherIsBetter)}</td>${runs.map((r) => `<td class="num">${fmt(valuesOn(r, m.id, [sample])[0], m.decimals)}</td>`).join('')}</tr>`;
    h += `</tbody></table><nav class="samples" data-testid="sample-list">${sh.ids.map((s) => `<a href="#${esc(new URLSearchParams({ runs: ids.join(','), sample: s }).toString())}"${s === sample ? ' class="cur" aria-current="true"' : ''}>${esc(s)}</a>`).join(' ')}</nav>`;
    el.innerHTML = h;
    for (const btn of el.querySelectorAll<HTMLButtonElement>('button[data-step]')) btn.onclick = () => step(Number(btn.dataset.step));
  };
  const step = (d: number) => {
    const p = params();
    const i = Math.max(0, sh.ids.indexOf(p.get('sample') ?? sh.ids[0]));
    const next = sh.ids[Math.min(sh.ids.length - 1, Math.max(0, i + d))];
    if (next === undefined) return;
    // NOTE: the fragment, not history.replaceState: browsers refuse the history API on file:// pages.
    location.hash = new URLSearchParams({ runs: ids.join(','), sample: next }).toString();
  };
  window.addEventListener('hashchange', draw);
  window.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === 'ArrowRight' || e.key === 'j') (step(1), e.preventDefault());
    else if (e.key === 'ArrowLeft' || e.key === 'k') (step(-1), e.preventDefault());
  });
  draw();
}

// ---------------------------------------------------------------------------------------------------------------
// The leaderboard: the rows' checkboxes pick runs to compare (the live page does it with Svelte; here, plainly).

function enhanceLeaderboard(): void {
  const picked: string[] = [];
  const bar = document.createElement('p');
  bar.className = 'cmp';
  document.querySelector('main')?.append(bar);
  const update = () => {
    bar.innerHTML = picked.length >= 2 ? `<a href="${esc(compareHref({ runs: picked.join(','), baseline: picked[0] }))}" data-testid="compare-link">Compare ${picked.length} runs (baseline ${esc(picked[0])}) →</a>` : '';
  };
  for (const box of document.querySelectorAll<HTMLInputElement>('[data-testid=leaderboard] input[type=checkbox]')) {
    box.checked = false;
    box.addEventListener('change', () => {
      const i = picked.indexOf(box.value);
      if (box.checked && i < 0) picked.push(box.value);
      if (!box.checked && i >= 0) picked.splice(i, 1);
      update();
    });
  }
  // Sorting by a column, as the live page: best first (the arrow in the header gives the direction), again: worst
  // first; runs without a value last either way.
  for (const table of document.querySelectorAll<HTMLTableElement>('[data-testid=leaderboard]')) {
    for (const th of table.querySelectorAll<HTMLTableCellElement>('th[data-col]')) {
      const btn = th.querySelector<HTMLButtonElement>('button.sort');
      if (!btn) continue;
      btn.addEventListener('click', () => {
        const col = th.dataset.col!;
        const higher = (btn.textContent ?? '').includes('↑');
        const best = th.getAttribute('aria-sort') === 'none' || th.dataset.best !== 'true';
        for (const o of table.querySelectorAll('th[data-col]')) (o.setAttribute('aria-sort', 'none'), delete (o as HTMLElement).dataset.best);
        th.dataset.best = String(best);
        th.setAttribute('aria-sort', best === higher ? 'descending' : 'ascending');
        const sign = (higher ? -1 : 1) * (best ? 1 : -1);
        const body = table.tBodies[0];
        const val = (tr: HTMLTableRowElement) => {
          const v = tr.querySelector<HTMLElement>(`td[data-col="${CSS.escape(col)}"]`)?.dataset.value;
          return v === undefined || v === '' ? NaN : Number(v);
        };
        const rows = [...body.rows].sort((a, z) => {
          const x = val(a);
          const y = val(z);
          if (!Number.isFinite(x)) return Number.isFinite(y) ? 1 : 0;
          if (!Number.isFinite(y)) return -1;
          return sign * (x - y);
        });
        body.append(...rows);
      });
    }
  }
  const filter = document.querySelector<HTMLInputElement>('[data-testid=run-filter]');
  filter?.addEventListener('input', () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const tr of document.querySelectorAll<HTMLTableRowElement>('[data-testid=leaderboard] tbody tr')) tr.hidden = !words.every((w) => (tr.textContent ?? '').toLowerCase().includes(w));
  });
}

async function main(): Promise<void> {
  const el = document.getElementById('refbench-static');
  if (!el) {
    if (document.querySelector('[data-testid=leaderboard]')) enhanceLeaderboard();
    return;
  }
  const p = params();
  const ids = runsOf(p);
  if (el.dataset.page === 'browse' && !ids.length) return renderPicker(el);
  try {
    const b = await benchOf(ids);
    if (typeof b === 'string') throw new Error(b);
    if (el.dataset.page === 'compare') renderCompare(el, b, ids, p);
    else renderBrowse(el, b, ids);
  } catch (err) {
    el.innerHTML = `<p class="badge err" data-testid="error">${esc((err as Error).message)}</p>`;
  }
}

void main();
