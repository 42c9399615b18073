# The API (and, with another command, the worker) as an image: the server
# compiled to JavaScript, production dependencies only, run as a non-root user.
# There is no database inside: give it DATABASE_URL (see compose.yaml).

# 1. Compile with every dependency (TypeScript is a development dependency).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts would fetch nothing the compiler needs (embedded PostgreSQL, esbuild's binary check).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies alone: no tsx, no TypeScript, no embedded PostgreSQL.
FROM node:20-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# 3. What runs: the compiled server, its dependencies, and the files it reads at run
# time (the contract, the migrations dbmate applies, the demo seed).
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=8000 \
    HOST=0.0.0.0 \
    DATA_DIR=/tmp/app-data
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY openapi ./openapi
COPY database ./database
COPY db ./db
# The node image's unprivileged user; nothing under /app is writable by it.
USER node
EXPOSE 8000
# Ready: the database answers and every migration this build expects is applied.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1's child of nothing else: SIGTERM reaches the server, which drains.
CMD ["node", "dist/main.js"]
