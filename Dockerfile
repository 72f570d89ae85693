# The GridTwin API image for docker-compose.yml; Neo4j and InfluxDB come from their own images.
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
COPY ml ml
COPY loaders loaders
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["gridtwin", "serve"]
