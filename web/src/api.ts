/** The dashboard's calls to the control API (same origin): session, overview, stats and the actions. */

/** What the session allows; `open` on the Unix socket, where no login exists. */
export type Access = { readonly role: 'write' | 'read'; readonly csrf?: string; readonly open: boolean };

/** An instance as `GET /v1/dashboard` returns it. */
export interface Instance {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly weight: number;
  readonly priority: number;
  readonly protocol: 'tcp' | 'udp';
  readonly check?: { readonly type: 'http' | 'tcp' | 'ttl'; readonly url?: string; readonly host?: string; readonly port?: number };
  readonly health: 'healthy' | 'unhealthy' | 'unknown';
  readonly note?: string;
  readonly healthSince: number;
  readonly lastHeartbeat: number;
  readonly maintenance: boolean;
  readonly maintenanceReason?: string;
  readonly circuit: 'closed' | 'open' | 'half-open';
  readonly servable: boolean;
  readonly lapseAt: number | null;
  readonly halfOpenAt: number | null;
}

/** A service with its instances. */
export interface Service {
  readonly name: string;
  readonly protocols: readonly string[];
  readonly instances: readonly Instance[];
}

/** The overview: everything the page shows but the live figures. */
export interface Overview {
  readonly index: number;
  /** The daemon's clock when it answered (ms): countdowns are shown against it. */
  readonly now: number;
  readonly dns: { readonly domain: string; readonly servers: readonly string[] };
  readonly services: readonly Service[];
}

/** `GET /v1/stats`, as far as the charts read it. */
export interface Stats {
  readonly registry: { readonly index: number };
  readonly dns?: { readonly queries: number; readonly cacheHits: number; readonly cacheMisses: number; readonly responsesByRcode: Readonly<Record<string, number>> };
}

/** The API answered 401: the page must log in (again). */
export class LoginRequired extends Error {}

/** An API error, with the API's stable code. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrf: string | undefined;

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf !== undefined) headers['x-beacon-csrf'] = csrf;
  const response = await fetch(url, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (response.status === 401) throw new LoginRequired('log in with the token');
  const json = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!response.ok) throw new ApiError(response.status, json.error?.code ?? 'INTERNAL', json.error?.message ?? `HTTP ${response.status}`);
  return json as T;
}

/** The current session: 404 means no login exists here (the socket), 401 that one is needed. */
export async function currentAccess(): Promise<Access> {
  try {
    const session = await call<{ role: 'write' | 'read'; csrf?: string }>('GET', '/v1/session');
    csrf = session.csrf;
    return { role: session.role, open: false, ...(session.csrf === undefined ? {} : { csrf: session.csrf }) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { role: 'write', open: true };
    throw error;
  }
}

/** Log in with a token; the daemon sets the HttpOnly session cookie. */
export async function login(token: string): Promise<Access> {
  try {
    const session = await call<{ role: 'write' | 'read'; csrf: string }>('POST', '/v1/session', { token });
    csrf = session.csrf;
    return { role: session.role, csrf: session.csrf, open: false };
  } catch (error) {
    if (error instanceof LoginRequired) throw new ApiError(401, 'UNAUTHORIZED', 'wrong token');
    throw error;
  }
}

/** End the session. */
export async function logout(): Promise<void> {
  await call('DELETE', '/v1/session');
  csrf = undefined;
}

/** The overview read. */
export const overview = (): Promise<Overview> => call('GET', '/v1/dashboard');
/** The statistics the charts are drawn from. */
export const stats = (): Promise<Stats> => call('GET', '/v1/stats');

const instanceUrl = (service: string, id: string): string => `/v1/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(id)}`;

/** Maintenance on (with a reason) or off. */
export const setMaintenance = (service: string, id: string, enabled: boolean, reason?: string): Promise<unknown> =>
  call('PUT', `${instanceUrl(service, id)}/maintenance`, { enabled, ...(reason ? { reason } : {}) });
/** Remove an instance. */
export const deregister = (service: string, id: string): Promise<unknown> => call('DELETE', instanceUrl(service, id));
/** Close an instance's circuit. */
export const resetCircuit = (service: string, id: string): Promise<unknown> => call('POST', `${instanceUrl(service, id)}/circuit/reset`);
