# syntax=docker/dockerfile:1
# Multi-stage build: dependencies are built in one stage, the runtime image has no
# compiler and runs as an unprivileged user.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
# Editable install: the `consulta` command finds alembic.ini and migrations/ in /app.
RUN pip install --upgrade pip && pip install -e .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=2 \
    DATA_DIR=/app/.data
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin consulta
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /app /app
COPY alembic.ini ./
COPY migrations ./migrations
RUN mkdir -p /app/.data && chown consulta:consulta /app/.data
USER consulta
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)" || exit 1
# Run `consulta migrate` once per release (compose does it in the `migrate` service).
CMD ["consulta", "serve"]
