/** Resource plugin: registry snapshots, saved to and restored from a JSON file on the daemon's host. */
import { InvalidArgumentError } from '../../errors.js';
import type { ControlPlugin } from '../plugin.js';
import type { RegistryReader, SnapshotPort } from '../ports.js';
import * as schema from '../schemas.js';

/** What the snapshots plugin needs; without `snapshot` both routes answer INVALID_ARGUMENT. */
export interface SnapshotsDeps {
  readonly registry: Pick<RegistryReader, 'index' | 'records'>;
  readonly snapshot?: SnapshotPort;
}

/** Routes `POST /v1/snapshot/save` and `POST /v1/snapshot/restore`. */
export const snapshotsRoutes: ControlPlugin<SnapshotsDeps> = async (app, { registry, snapshot }) => {
  const route = (operation: keyof SnapshotPort): void => {
    app.post<{ Body: { file: string } }>(`/v1/snapshot/${operation}`, { schema: { body: schema.snapshotBody } }, async (request) => {
      if (!snapshot) throw new InvalidArgumentError('snapshots are not available in this daemon');
      const result = await snapshot[operation](request.body.file);
      return { file: request.body.file, index: registry.index, instances: registry.records().length, result: result ?? null };
    });
  };
  route('save');
  route('restore');
};
