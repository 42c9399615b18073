import path from 'node:path';
import express, { type Router } from 'express';

// The interactive reference is Swagger UI served from our own node_modules,
// so it works without internet access.
const swaggerUiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const initializer = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout'
  });
};
`;

export function docsRouter(): Router {
  const router = express.Router();
  router.get('/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(initializer);
  });
  router.use(express.static(swaggerUiDir, { index: 'index.html' }));
  return router;
}
