import { parseJsonAnswer, systemInstruction } from './model';

describe('parseJsonAnswer', () => {
  test('any JSON value, with the whitespace around it', () => {
    expect(parseJsonAnswer(' {"a": [1, "x"]}\n')).toEqual({ value: { a: [1, 'x'] } });
    expect(parseJsonAnswer('"just text"')).toEqual({ value: 'just text' });
    expect(parseJsonAnswer('null')).toEqual({ value: null });
  });

  test('a Markdown fence around the whole answer is taken off, with or without a language', () => {
    expect(parseJsonAnswer('```json\n{"ok": true}\n```')).toEqual({ value: { ok: true } });
    expect(parseJsonAnswer('```\n[1, 2]\n```\n')).toEqual({ value: [1, 2] });
    expect(parseJsonAnswer('```json\r\n{"ok": true}\r\n```')).toEqual({ value: { ok: true } });
  });

  test('prose, half a value or a fence with prose around it is no JSON answer', () => {
    expect(parseJsonAnswer('Sure! {"ok": true}')).toBeUndefined();
    expect(parseJsonAnswer('{"ok": tr')).toBeUndefined();
    expect(parseJsonAnswer('Here:\n```json\n{"ok": true}\n```')).toBeUndefined();
    expect(parseJsonAnswer('')).toBeUndefined();
  });
});

describe('systemInstruction', () => {
  test('only the json format asks for something of the model', () => {
    expect(systemInstruction('json')).toMatch(/JSON/);
    for (const format of ['markdown', 'text', 'html', 'code'] as const) expect(systemInstruction(format)).toBeUndefined();
  });
});
