/**
 * @file Server hooks of the dashboard. An unexpected error is logged on the server and answered with a generic
 * message: error bodies must not reveal absolute paths or stack traces (docs/security.md). Expected errors
 * (`error(status, message)` from the routes) carry messages made path-free by $lib/server/dashboard/serve-file.ts.
 */
import type { HandleServerError } from '@sveltejs/kit';

export const handleError: HandleServerError = ({ error, status }) => {
  if (status === 404) return { message: 'Not Found' };
  console.error('refbench dashboard:', error);
  return { message: 'Internal Error (details in the dashboard’s terminal)' };
};
