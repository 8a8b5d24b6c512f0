FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --create-home --home-dir /home/funnelgraph funnelgraph

WORKDIR /app

# Dependencies first, from the lock (every file checked against its hash), so this
# layer is rebuilt only when the lock changes, not on every code edit.
COPY requirements/base.lock ./requirements/
RUN pip install --require-hashes -r requirements/base.lock

COPY README.md ./
COPY server ./server
COPY schema ./schema
COPY resolvers ./resolvers
COPY models ./models
COPY realtime ./realtime
COPY pyproject.toml ./
RUN pip install --no-deps .

USER funnelgraph
# Not /app: without DATABASE_URL / in development mode the server writes its
# SQLite file and secret into the working directory, so it must be writable.
WORKDIR /home/funnelgraph

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Migrations are a one-shot job of their own (`funnelgraph migrate`: the compose file's
# migrate service), run once per release before the app starts, never by each replica.
# Exec form: uvicorn is PID 1 and receives SIGTERM on `docker stop`.
CMD ["funnelgraph", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
