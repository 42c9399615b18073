import express, { type Response } from 'express';
import request from 'supertest';
import { answerJsonDirectly } from './json-response';

/** The same handlers on Express's own res.json and on the direct one. */
function apps() {
  const build = (direct: boolean) => {
    const app = express();
    if (direct) answerJsonDirectly(app);
    const answer = (path: string, send: (res: Response) => void) => app.all(path, (_req, res) => send(res));
    answer('/object', (res) => res.json({ name: 'Zoë', tags: ['a', '"b"'], total: '12.50', none: null }));
    answer('/created', (res) => res.status(201).location('/api/v1/projects/1').json({ id: 1 }));
    answer('/problem', (res) => res.status(404).type('application/problem+json').json({ status: 404, title: 'Not Found' }));
    answer('/null', (res) => res.json(null));
    answer('/nothing', (res) => res.status(204).json({ dropped: true }));
    answer('/undefined', (res) => res.json(undefined));
    answer('/own-type', (res) => res.type('application/vnd.example+json').json({ own: true }));
    return app;
  };
  return { express: build(false), direct: build(true) };
}

const shown = (response: request.Response) => ({
  status: response.status,
  type: response.headers['content-type'],
  length: response.headers['content-length'],
  location: response.headers.location,
  text: response.text,
});

test.each(['/object', '/created', '/problem', '/null', '/nothing', '/undefined', '/own-type'])('%s: the same status, headers and bytes as Express sends', async (path) => {
  const { express: reference, direct } = apps();
  for (const method of ['get', 'head'] as const) {
    const expected = shown(await request(reference)[method](path));
    expect(shown(await request(direct)[method](path))).toEqual(expected);
  }
});

test('an ordinary answer is JSON in UTF-8 with its byte length', async () => {
  const response = await request(apps().direct).get('/object');
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify(response.body)));
  expect(response.body).toEqual({ name: 'Zoë', tags: ['a', '"b"'], total: '12.50', none: null });
});

test("ordinary answers skip Express's send; the rest still go through it", async () => {
  const app = express();
  let sends = 0;
  const send = app.response.send;
  app.response.send = function counted(this: Response, body?: unknown) {
    sends += 1;
    return send.call(this, body);
  };
  answerJsonDirectly(app);
  app.get('/object', (_req, res) => res.status(201).json({ id: 1 }));
  app.get('/problem', (_req, res) => res.status(409).type('application/problem+json').json({ status: 409 }));
  app.get('/nothing', (_req, res) => res.status(204).json({}));
  await request(app).get('/object').expect(201);
  await request(app).get('/problem').expect(409);
  expect(sends).toBe(0);
  await request(app).get('/nothing').expect(204);
  await request(app).head('/object').expect(201);
  expect(sends).toBe(2);
});
