import { organizationOfCreation, requireSameProject } from '../access';
import { estimateDurationSeconds, preflightProblems, type IngestionSources } from './rules';

const empty: IngestionSources = { repositories: 0, failedRepositories: [], files: 0, fileBytes: 0 };

describe('estimateDurationSeconds', () => {
  test('without history: 30 s, plus 20 per repository, 0.05 per file and one per 2 MB, rounded up', () => {
    expect(estimateDurationSeconds(empty, null)).toBe(30);
    expect(estimateDurationSeconds({ ...empty, repositories: 2 }, null)).toBe(70);
    expect(estimateDurationSeconds({ ...empty, files: 1000 }, null)).toBe(80);
    expect(estimateDurationSeconds({ ...empty, files: 1, fileBytes: 3_000_000 }, null)).toBe(32);
  });

  test('with history: the mean of recent runs wins over the size, rounded up, at least 1', () => {
    expect(estimateDurationSeconds({ ...empty, repositories: 50 }, 12.2)).toBe(13);
    expect(estimateDurationSeconds(empty, 0)).toBe(1);
    expect(estimateDurationSeconds(empty, Number.NaN)).toBe(30);
  });
});

describe('preflightProblems', () => {
  test('one field error per repository in status error, none otherwise', () => {
    expect(preflightProblems(empty)).toEqual([]);
    const found = preflightProblems({ ...empty, repositories: 3, failedRepositories: ['acme/a', 'acme/b'] });
    expect(found.map((error) => error.code)).toEqual(['repository_unreachable', 'repository_unreachable']);
    expect(found[1]!.message).toContain('acme/b');
    expect(found.every((error) => error.path === '/body/skipValidation')).toBe(true);
  });
});

describe('requireSameProject and organizationOfCreation (the ids the frontend repeats in bodies)', () => {
  const id = '0b9a1f8e-5a43-4a57-9c55-3f3d2c1b0a99';

  test('absent or equal (in any case) passes; another is a 400 on the body field', () => {
    expect(() => requireSameProject(undefined, id)).not.toThrow();
    expect(() => requireSameProject(id.toUpperCase(), id)).not.toThrow();
    expect(() => requireSameProject('7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f', id)).toThrow(expect.objectContaining({ status: 400 }));
  });

  test('the body names the organization when no header does; with one, they must agree', () => {
    expect(organizationOfCreation(undefined, undefined)).toBeUndefined();
    expect(organizationOfCreation(undefined, id)).toBeUndefined();
    expect(organizationOfCreation(id, undefined)).toBe(id);
    expect(organizationOfCreation(id, id.toUpperCase())).toBe(id);
    expect(() => organizationOfCreation(id, '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f')).toThrow(expect.objectContaining({ status: 400 }));
  });
});
