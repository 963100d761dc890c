import Fastify, { type FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../../src/control/app.js';
import { fastJsonParser, type JsonBodyParser } from '../../src/control/plugins/json-body.js';
import { makeApp } from './harness.js';

/** fastify's own JSON parser with the poisoning policy the control app uses. */
const reference = Fastify().getDefaultJsonParser('error', 'error') as JsonBodyParser;

/** What a parser makes of `body`: the value, or the error's code and message. */
function outcome(parser: JsonBodyParser, body: string): unknown {
  let result: unknown = 'never called';
  parser({} as FastifyRequest, body, (error, value) => {
    result = error ? { code: (error as Error & { code?: string }).code, message: error.message } : { value };
  });
  return result;
}

const BODIES = [
  '',
  ' ',
  '{',
  'null',
  '[1,2]',
  '"text"',
  '{"address":"10.0.0.1","port":80,"tags":["a"],"metadata":{"version":"v2"}}',
  '{"address":"10.0.0.1","port":80} trailing',
  '{"__proto__":{"admin":true}}',
  '{"a":{"__proto__":{"admin":true}}}',
  '{"\\u005f_proto__":{"admin":true}}',
  '{"_\\u005fproto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '{"constructor":{"other":1}}',
  '{"metadata":{"constructor":"x"}}',
  '{"c\\u006fnstructor":{"prototype":{"admin":true}}}',
  '{"note":"caf\\u00e9"}',
  '{"note":"__proto__ in a value"}',
];

describe('fastJsonParser', () => {
  it.each(BODIES)('gives what fastify’s parser gives for %j', (body) => {
    const ours = outcome(fastJsonParser(reference), body);
    expect(ours).not.toBe('never called');
    expect(ours).toEqual(outcome(reference, body));
  });

  it('refuses prototype poisoning in every spelling, as fastify does', () => {
    const poisoned = BODIES.filter((b) => /proto|constructor"?:\{"prototype|c\\u006f/.test(b) && !b.includes('in a value'));
    expect(poisoned).toHaveLength(6);
    for (const body of poisoned) {
      expect(outcome(fastJsonParser(reference), body), body).toMatchObject({ code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
    }
  });

  it('parses plain bodies itself, without the secure parser', () => {
    let delegated = 0;
    const parser = fastJsonParser((request, body, done) => {
      delegated += 1;
      reference(request, body, done);
    });
    expect(outcome(parser, '{"address":"10.0.0.1","port":80}')).toEqual({ value: { address: '10.0.0.1', port: 80 } });
    expect(delegated).toBe(0);
    outcome(parser, '{"__proto__":{}}');
    outcome(parser, '{');
    expect(delegated).toBe(2);
  });
});

describe('control API JSON bodies', () => {
  let made: Awaited<ReturnType<typeof makeApp>> | undefined;
  afterEach(async () => {
    await made?.close();
    made = undefined;
  });

  it('answers 400 INVALID_ARGUMENT to a poisoned registration and registers nothing', async () => {
    made = await makeApp();
    const response = await made.app.inject({
      method: 'PUT',
      url: '/v1/services/web/instances/a',
      payload: '{"__proto__":{"weight":9},"address":"10.0.0.1","port":80}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'INVALID_ARGUMENT', message: "Body is not valid JSON but content-type is set to 'application/json'" } });
    expect(made.registry.records()).toEqual([]);
  });

  it('keeps the body limit (413) and accepts a JSON content type with parameters', async () => {
    made = await makeApp();
    const big = JSON.stringify({ address: '10.0.0.1', port: 80, metadata: { pad: 'x'.repeat(BODY_LIMIT_BYTES) } });
    const tooLarge = await made.app.inject({ method: 'PUT', url: '/v1/services/web/instances/a', payload: big, headers: { 'content-type': 'application/json' } });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    const ok = await made.app.inject({ method: 'PUT', url: '/v1/services/web/instances/a', payload: '{"address":"10.0.0.1","port":80}', headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.statusCode).toBe(200);
    expect(made.registry.records().map((r) => r.spec.id)).toEqual(['a']);
  });
});
