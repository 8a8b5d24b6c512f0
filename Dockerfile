FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --create-home --home-dir /home/funnelgraph funnelgraph

WORKDIR /app

# Dependencies first, read straight from pyproject.toml, so this layer is
# rebuilt only when pyproject.toml or the lock changes, not on every code edit.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md ./
COPY server ./server
COPY schema ./schema
COPY resolvers ./resolvers
COPY models ./models
COPY realtime ./realtime
RUN pip install -c constraints.txt .

USER funnelgraph
# Not /app: without DATABASE_URL / in development mode the server writes its
# SQLite file and secret into the working directory, so it must be writable.
WORKDIR /home/funnelgraph

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# exec: uvicorn replaces the shell, so it receives SIGTERM on `docker stop`.
CMD ["sh", "-c", "funnelgraph migrate && exec funnelgraph serve --host 0.0.0.0 --port 8000 --workers 2"]
