# frtwatch image for docker-compose.yml: the worker, the console and the webhook dispatcher.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 frtwatch
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY models ./models
COPY config ./config
RUN pip install --no-cache-dir . && mkdir -p /data && chown frtwatch /data
USER frtwatch
ENV FRTWATCH_DATA_DIR=/data/state \
    FRTWATCH_POLICY=/app/config/policy.yaml
ENTRYPOINT ["frtwatch"]
CMD ["--help"]
