# The gateway image. It installs the package the README installs, from the same pyproject.toml,
# as a wheel (`pip install .`) where the README installs it editable (`pip install -e .`).
# Migrations run separately: `prakerja-gateway migrate` as a Job or init container (README).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PRAKERJA_HOST=0.0.0.0 \
    PRAKERJA_PORT=8000 \
    PRAKERJA_DATA_DIR=/var/lib/prakerja

# Fixed numbers, the same as the Kubernetes manifests' runAsUser/runAsGroup/fsGroup
# (deploy/kubernetes/check.py fails on a difference): a system user's number would be
# whatever useradd picks, and runAsNonRoot can only check a numeric USER.
RUN groupadd --system --gid 10001 prakerja \
    && useradd --system --uid 10001 --gid 10001 --home /app prakerja \
    && mkdir -p /var/lib/prakerja && chown 10001:10001 /var/lib/prakerja

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY gateway ./gateway
COPY schema ./schema
COPY resolvers ./resolvers
COPY auth ./auth
RUN pip install .

USER 10001:10001
EXPOSE 8000
# Production points the gateway at its PostgreSQL: PRAKERJA_DATABASE_URL is expected.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os,sys,urllib.request; port = os.environ.get('PRAKERJA_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4).status == 200 else 1)"
CMD ["prakerja-gateway", "serve"]
