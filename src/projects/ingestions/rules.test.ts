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
