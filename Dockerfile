# Build stage: the full dependency set compiles src/ to dist/.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# The CLI workspace's manifest too: the lockfile names it. Its sources are not part of the image,
# so no install scripts (they would build the CLI) and tsc builds the server alone.
COPY package.json package-lock.json ./
COPY packages/cli/package.json ./packages/cli/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# Runtime stage: production dependencies, the compiled code and the migrations; nothing else.
# Node 22+: the AWS SDK requires it from 2027 (package.json engines).
FROM node:22-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY packages/cli/package.json ./packages/cli/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
USER node
EXPOSE 3000
# Ready means the database (and Redis, when configured) answer, not merely that the port is open.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is the process that gets SIGTERM (no npm or shell in between): it stops accepting,
# finishes in-flight requests and exits. The worker image runs `node dist/worker.js`. The flag is
# the API's young-generation size (src/lib/memory-flags.ts: API_NODE_FLAGS).
CMD ["node", "--max-semi-space-size=8", "dist/server.js"]
