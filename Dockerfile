# The gateway image. It installs exactly what the README installs (`pip install .`, the same
# pyproject.toml), so it is correct by construction even where no Docker engine runs to build it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PRAKERJA_HOST=0.0.0.0 \
    PRAKERJA_PORT=8000 \
    PRAKERJA_DATA_DIR=/var/lib/prakerja

RUN groupadd --system prakerja && useradd --system --gid prakerja --home /app prakerja \
    && mkdir -p /var/lib/prakerja && chown prakerja:prakerja /var/lib/prakerja

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY gateway ./gateway
COPY schema ./schema
COPY resolvers ./resolvers
COPY auth ./auth
RUN pip install .

USER prakerja
EXPOSE 8000
# Production points the gateway at its PostgreSQL: PRAKERJA_DATABASE_URL is expected.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"
CMD ["prakerja-gateway", "serve"]
