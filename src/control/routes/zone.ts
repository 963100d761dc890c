/**
 * Resource plugin: dynamic zone data, the RRsets DNS UPDATE keeps that describe no instance (README,
 * "Registration through DNS UPDATE"). `GET /v1/zone` lists them; `DELETE /v1/zone/:owner/:type` removes one
 * RRset through the zone writer UPDATE uses (durable, streamed to DNS workers, the SOA serial moves).
 */
import { BeaconError, InvalidArgumentError } from '../../errors.js';
import type { ControlPlugin } from '../plugin.js';
import type { ZonePort } from '../ports.js';
import * as schema from '../schemas.js';
import { parseRRType, typeMnemonic } from '../zone-view.js';

/** What the zone plugin needs; without `zone` both routes answer INVALID_ARGUMENT. */
export interface ZoneDeps {
  readonly zone?: ZonePort;
}

/** Routes `GET /v1/zone` and `DELETE /v1/zone/:owner/:type`. */
export const zoneRoutes: ControlPlugin<ZoneDeps> = async (app, { zone }) => {
  const port = (): ZonePort => {
    if (!zone) throw new InvalidArgumentError('dynamic zone data is not available in this daemon');
    return zone;
  };

  app.get('/v1/zone', { schema: { querystring: schema.emptyQuery } }, async () => ({ rrsets: port().list() }));

  app.delete<{ Params: { owner: string; type: string } }>(
    '/v1/zone/:owner/:type',
    { schema: { params: schema.zoneRRsetParams, querystring: schema.emptyQuery } },
    async (request) => {
      const zonePort = port();
      const type = parseRRType(request.params.type);
      const deleted = await zonePort.remove(request.params.owner, type);
      if (!deleted) throw new BeaconError('NOT_FOUND', `no ${typeMnemonic(type)} RRset at ${request.params.owner} in the dynamic zone data`, { status: 404 });
      return { deleted };
    },
  );
};
