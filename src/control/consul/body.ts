/** Request bodies of the Consul-compatible API. */
import { InvalidArgumentError } from '../../errors.js';
import type { ControlApp } from '../plugin.js';

/**
 * Parse every request body as JSON. Consul reads every body as JSON whatever its content type
 * (`curl --data @payload.json` sends a form type, python-consul none), so this context parses them all as
 * JSON; application/json keeps fastify's parser.
 */
export function acceptAnyBodyAsJson(app: ControlApp): void {
  const parseJson = (_request: unknown, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body.toString()));
    } catch {
      done(new InvalidArgumentError('request body is not valid JSON', 'body'), undefined);
    }
  };
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(['text/plain', '*'], { parseAs: 'string' }, parseJson);
}
