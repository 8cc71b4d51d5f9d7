# auditwatch for docker-compose: build with dev dependencies, run with production ones.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm install --no-audit --no-fund --omit=optional
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --omit=dev --omit=optional
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY schemas ./schemas
COPY models ./models
COPY config ./config
USER node
EXPOSE 9464
ENTRYPOINT ["node", "bin/auditwatch.js"]
CMD ["run", "--config", "config/compose.yaml"]
