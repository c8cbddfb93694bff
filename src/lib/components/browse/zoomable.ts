/**
 * @file The image browser's zoom (wheel) and pan (drag) on a pane: every pane shares one transform, so zooming any
 * pane moves them all. A Svelte action: `use:zoomable={{ get, set, size }}` (`get` reads the current transform at
 * event time, `set` writes the new one).
 */
import { panBy, zoomAt, type ViewTransform } from '$lib/browse-view.ts';

export interface ZoomableOptions {
  readonly get: () => ViewTransform;
  readonly set: (t: ViewTransform) => void;
  /** The pane's size in CSS px. */
  readonly size: number;
}

export function zoomable(node: HTMLElement, o: ZoomableOptions) {
  const wheel = (e: WheelEvent) => {
    e.preventDefault();
    const r = node.getBoundingClientRect();
    o.set(zoomAt(o.get(), e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top, o.size));
  };
  let last: { x: number; y: number } | null = null;
  const down = (e: PointerEvent) => {
    if ((e.target as HTMLElement).closest('button, input')) return;
    last = { x: e.clientX, y: e.clientY };
    node.setPointerCapture(e.pointerId);
  };
  const move = (e: PointerEvent) => {
    if (!last) return;
    o.set(panBy(o.get(), e.clientX - last.x, e.clientY - last.y, o.size));
    last = { x: e.clientX, y: e.clientY };
  };
  const up = () => (last = null);
  node.addEventListener('wheel', wheel, { passive: false });
  node.addEventListener('pointerdown', down);
  node.addEventListener('pointermove', move);
  node.addEventListener('pointerup', up);
  node.addEventListener('pointercancel', up);
  return {
    update(next: ZoomableOptions) {
      o = next;
    },
    destroy() {
      node.removeEventListener('wheel', wheel);
      node.removeEventListener('pointerdown', down);
      node.removeEventListener('pointermove', move);
      node.removeEventListener('pointerup', up);
      node.removeEventListener('pointercancel', up);
    },
  };
}
