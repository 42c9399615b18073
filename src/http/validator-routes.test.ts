import { RouteIndex } from './validator-routes';

const routes = ['/health', '/api/v1/projects', '/api/v1/projects/stats', '/api/v1/projects/:projectId', '/api/v1/projects/:projectId/files', '/api/v1/skills/:skillId', '/api/v1/:anything/x'];
const map = Object.fromEntries(routes.map((route) => [route, { basePath: '', _expressRoute: route }]));
const candidates = (url: string) => Object.keys(new RouteIndex(map).candidatesFor(url));

describe('RouteIndex', () => {
  it('offers only the routes of the same length under the same leading segments, in the contract order', () => {
    expect(candidates('/api/v1/projects')).toEqual(['/api/v1/projects']);
    expect(candidates('/api/v1/skills/abc')).toEqual(['/api/v1/skills/:skillId', '/api/v1/:anything/x']);
    expect(candidates('/api/v1/projects/123/files?x=1')).toEqual(['/api/v1/projects/:projectId/files']);
    expect(candidates('/health')).toEqual(['/health']);
  });

  it('ignores a trailing slash and letter case, as the validator’s matching does', () => {
    expect(candidates('/API/v1/Projects/')).toEqual(['/api/v1/projects']);
  });

  it('adds routes with a parameter among the leading segments wherever they could match', () => {
    expect(candidates('/api/v1/projects/x')).toEqual(['/api/v1/projects/stats', '/api/v1/projects/:projectId', '/api/v1/:anything/x']);
    expect(candidates('/api/v1/other/x')).toEqual(['/api/v1/:anything/x']);
  });

  it('offers nothing for a path no route can match, and every route for a path it cannot read', () => {
    expect(candidates('/api/v1/nothing-here')).toEqual([]);
    expect(candidates('/api//v1/projects')).toEqual(routes);
  });
});
