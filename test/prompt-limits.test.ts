import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { encode } from 'gpt-tokenizer';
import { countTokens, MAX_PROMPT_LENGTH, PromptTooLarge, renderPrompt } from '../src/skills/runner/render';
import { templateRunner } from '../src/skills/runner/template';
import { as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// What one run may cost the server, whatever its input: rendering and token
// counting stay linear, and a prompt has a size limit.
const exact = (text: string) => encode(text, { disallowedSpecial: new Set() }).length;

/** Letters that never repeat in a pattern the tokenizer's cache could short-cut. */
function randomWord(length: number): string {
  let word = '';
  let seed = 12345;
  for (let i = 0; i < length; i += 1) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    word += String.fromCharCode(97 + (seed % 26));
  }
  return word;
}

describe('countTokens', () => {
  test('a word of 200,000 letters is counted in about a second, not minutes', () => {
    const word = randomWord(200_000);
    const started = Date.now();
    const counted = countTokens(word);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(counted).toBeGreaterThan(10_000);
  });

  test('ordinary text counts exactly as the tokenizer counts it whole', () => {
    const readme = readFileSync(path.resolve(__dirname, '..', 'README.md'), 'utf8');
    expect(countTokens(readme)).toBe(exact(readme));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(' ', '  ', '\n', '\n\n', '\t', ' - ', '. ', ', ', '"', "'s", '\u00a0'), fc.string({ minLength: 1, maxLength: 12 })), { maxLength: 400 }),
        (parts) => {
          const text = parts.join('');
          expect(countTokens(text)).toBe(exact(text));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a long run without spaces is cut, but never between the halves of a surrogate pair', () => {
    const emoji = '\u{1F600}'.repeat(2000);
    expect(Math.abs(countTokens(emoji) - exact(emoji))).toBeLessThan(exact(emoji) * 0.05);
    expect(countTokens('')).toBe(0);
  });
});

describe('renderPrompt', () => {
  test('stops as soon as the prompt would pass the limit', () => {
    const template = '{{a}}'.repeat(10_000);
    expect(() => renderPrompt(template, { a: 'x'.repeat(1000) })).toThrow(PromptTooLarge);
    const value = 'x'.repeat(MAX_PROMPT_LENGTH / 16);
    expect(renderPrompt('{{a}}'.repeat(16), { a: value }).length).toBe(MAX_PROMPT_LENGTH);
    expect(() => renderPrompt('{{a}}!'.repeat(16), { a: value })).toThrow(PromptTooLarge);
  });

  test('the template runner fails the run with prompt_too_large', async () => {
    const result = await templateRunner().run(
      { promptTemplate: '{{a}} '.repeat(8000), model: 'm', parameters: {}, inputSchema: [], outputFormat: 'text' },
      { a: randomWord(100_000) },
    );
    expect(result).toEqual(expect.objectContaining({ ok: false, code: 'prompt_too_large' }));
  });
});

describe('over HTTP', () => {
  let t: TestApp;
  let owner: TestUser;
  let org: string;

  beforeAll(async () => {
    t = createTestApp({ skills: { runner: templateRunner(), executeWaitMaxMs: 0 } });
    owner = await newUser(t.app, 'prompt-limits');
    org = await newOrganization(t.app, owner, 'Prompt Limits');
  });
  afterAll(() => t.close());

  test('a template that repeats a large value thousands of times is a failed test run, not a 500 or minutes of CPU', async () => {
    const started = Date.now();
    const res = await as(t.app, owner, org)
      .post('/api/v1/skills/test')
      .send({ promptTemplate: '{{a}}'.repeat(10_000), input: { a: randomWord(100_000) } })
      .expect(200);
    expect(res.body).toEqual(expect.objectContaining({ status: 'failed', errorCode: 'prompt_too_large', prompt: null }));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('an input of one 400,000-letter word is counted in seconds', async () => {
    const started = Date.now();
    const res = await as(t.app, owner, org)
      .post('/api/v1/skills/test')
      .send({ promptTemplate: 'Count this one: {{a}}', input: { a: randomWord(400_000) } })
      .expect(200);
    expect(res.body.status).toBe('completed');
    expect(res.body.promptTokens).toBeGreaterThan(50_000);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
