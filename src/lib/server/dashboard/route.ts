/**
 * @file The one error path of the dashboard's routes: a route's work runs inside `answer`, and whatever it throws
 * leaves as an HTTP error whose body is safe to show (`publicError`: the status of a `DashboardError`, else 500
 * with the message's paths redacted and the error logged). SvelteKit's own redirects and errors pass through.
 */
import { error, isHttpError, isRedirect } from '@sveltejs/kit';
import { publicError } from './serve-file.ts';

export async function answer<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isRedirect(err) || isHttpError(err)) throw err;
    const e = publicError(err);
    error(e.status, e.message);
  }
}
