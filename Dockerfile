# The pipeline's model as a container: `docker run --rm IMAGE` predicts the test set and prints the metrics and
# the first rows; `docker run --rm -i IMAGE predict --input -` scores CSV or JSON rows from stdin.
# Build it after a pipeline run (it packs build/model, build/quant and the test set):
#   npx pipeline run && docker build --tag pipeline .

# ---- build: dev dependencies and the TypeScript compiler
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY runner ./runner
COPY stages ./stages
COPY scripts/build-cli.mjs ./scripts/
RUN npm run build

# ---- runtime: production dependencies, the compiled engine, the stage sources and the model artifacts
FROM node:20-slim
ENV NODE_ENV=production NO_COLOR=1
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY runner ./runner
COPY stages ./stages
COPY pipeline.yaml ./
COPY build/model ./build/model
COPY build/quant ./build/quant
COPY build/data/test.bin build/data/summary.json ./build/data/
# Workspace commands are bundled into .pipeline/ on first use: the only folder the image writes to.
RUN mkdir .pipeline && chown node:node .pipeline
USER node
ENTRYPOINT ["node", "bin/pipeline.js"]
CMD ["predict"]
