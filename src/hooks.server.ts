/**
 * @file Server hooks of the dashboard. An unexpected error (5xx) is logged on the server and answered with a
 * generic message: error bodies must not reveal absolute paths or stack traces (docs/security.md). A refusal of
 * the request itself (a 4xx SvelteKit raises, e.g. 405 for a POST to a page without form actions) is not an
 * error of the dashboard: it is answered with SvelteKit's own short message ("Method Not Allowed") and logged
 * as one line by the server (src/lib/server/dashboard/production.ts), never with a stack trace. Expected errors
 * (`error(status, message)` from the routes) carry messages made path-free by $lib/server/dashboard/serve-file.ts.
 */
import type { HandleServerError } from '@sveltejs/kit';

export const handleError: HandleServerError = ({ error, status, message }) => {
  if (status === 404) return { message: 'Not Found' };
  // NOTE: `message` of a 4xx is SvelteKit's status text (get_message: SvelteKitError.text), never a path.
  if (status >= 400 && status < 500) return { message };
  console.error('refbench dashboard:', error);
  return { message: 'Internal Error (details in the dashboard’s terminal)' };
};
