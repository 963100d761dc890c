/**
 * Resource plugin: registry snapshots in HTTP bodies. `GET /v1/snapshot` streams the registry (and the dynamic
 * zone data, control/zone-snapshot.ts) as a snapshot document; `PUT /v1/snapshot` restores one, validated whole before anything changes (all or nothing). No
 * route takes a path: the daemon reads and writes no file for the API, so a token holder cannot make it
 * write or read files on its host. The CLI keeps files on the client's side (src/cli/commands/snapshots.ts).
 */
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../../errors.js';
import type { ControlPlugin } from '../plugin.js';
import type { RegistryReader, SnapshotPort } from '../ports.js';
import * as schema from '../schemas.js';
import { type BeaconSnapshot, validateBeaconSnapshot } from '../zone-snapshot.js';

/** Largest snapshot `PUT /v1/snapshot` accepts: far above the API's 64 KiB, about 100k instances. */
export const SNAPSHOT_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/** What the snapshots plugin needs; without `snapshot` both routes answer INVALID_ARGUMENT. */
export interface SnapshotsDeps {
  readonly registry: Pick<RegistryReader, 'index'>;
  readonly snapshot?: SnapshotPort;
}

/**
 * The document as JSON text in pieces, one record per chunk, so a large registry is not held twice as one
 * string (the records themselves are already in memory).
 */
function* snapshotText(document: BeaconSnapshot): Generator<string> {
  yield `{"format":${JSON.stringify(document.format)},"version":${document.version},"index":${document.index},"records":[`;
  yield* items(document.records);
  if (document.version === 2) {
    yield '\n],"zone":[';
    yield* items(document.zone);
  }
  yield '\n]}\n';
}

/** Array items as JSON text, one per chunk. */
function* items(values: readonly unknown[]): Generator<string> {
  let first = true;
  for (const value of values) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(value)}`;
    first = false;
  }
}

/** Routes `GET /v1/snapshot` and `PUT /v1/snapshot`. */
export const snapshotsRoutes: ControlPlugin<SnapshotsDeps> = async (app, { registry, snapshot }) => {
  const port = (): SnapshotPort => {
    if (!snapshot) throw new InvalidArgumentError('snapshots are not available in this daemon');
    return snapshot;
  };

  app.get('/v1/snapshot', { schema: { querystring: schema.emptyQuery } }, async (_request, reply) => {
    const document = port().document();
    return reply.type('application/json; charset=utf-8').send(Readable.from(snapshotText(document)));
  });

  app.put<{ Body: unknown }>(
    '/v1/snapshot',
    { bodyLimit: SNAPSHOT_BODY_LIMIT_BYTES, schema: { querystring: schema.emptyQuery, body: schema.snapshotBody } },
    async (request) => {
      const restorer = port();
      // Every record is checked before the registry is touched: a bad document changes nothing.
      const document = validateBeaconSnapshot(request.body, 'snapshot');
      const result = await restorer.restore(document);
      return {
        index: registry.index,
        instances: document.records.length,
        changed: result.changed,
        snapshotIndex: result.snapshotIndex,
        ...(result.zoneRRsets === undefined ? {} : { zoneRRsets: result.zoneRRsets }),
      };
    },
  );
};
