# Between: one image for the web app, the migrations and the reminder dispatcher.
#
#   docker build -t between .
#   docker run ... between                    migrate, then serve (web + one dispatcher)
#   docker run ... between serve --no-dispatcher   any other `between` command
#
# It runs in production mode, so it refuses to start without BETWEEN_SECRET_KEY,
# an https:// BETWEEN_BASE_URL and the VAPID settings (see .env.example).
#
# The base image is named by tag. To pin it, replace the tag with its digest, taken once where
# a registry is reachable and kept until you choose to update it:
#   docker buildx imagetools inspect python:3.11-slim-trixie --format '{{json .Manifest.Digest}}'
#   FROM python:3.11-slim-trixie@sha256:<that digest>
# Python packages are pinned with hashes in requirements.lock.
FROM python:3.11-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/between

# pg_dump and pg_restore for `between backup` / `between restore`. They must be of the server's
# major version or newer: Debian trixie's are PostgreSQL 17 (compose.yaml runs 16).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, exactly as locked (versions and hashes), so a code change does not
# reinstall them; Between itself goes on top without dependencies.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./

COPY app ./app
COPY migrations ./migrations
# Then the static files' manifest, once for the release, in the installed package: every
# replica of this image names the same hashed files without hashing them at start. Hashed
# copies of earlier releases in the build context's app/static/dist/ (`between assets` run in
# the checkout before each build keeps them) stay servable during a rolling deploy.
RUN pip install --no-deps . && rm -rf build *.egg-info \
    && between assets

# An unprivileged user; /data holds the development SQLite file (voice notes are kept
# in the database, so web replicas share no volume).
RUN groupadd --system --gid 10001 between \
    && useradd --system --uid 10001 --gid between --home-dir /srv/between --no-create-home \
       --shell /usr/sbin/nologin between \
    && mkdir -p /data && chown between:between /data

ENV BETWEEN_ENVIRONMENT=production \
    BETWEEN_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8000

VOLUME ["/data"]
USER between
EXPOSE 8000

# No curl in the slim image: Python asks /readyz (database reachable, migrations current, and
# a dispatcher's own heartbeat fresh). A dispatcher container serves it with `--health-port`
# on PORT (compose.yaml does); /livez answers as long as the process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8000'), timeout=4)"]

# Without arguments: migrate, then serve (one container on its own; the migration takes a
# PostgreSQL advisory lock, so two started at once run it one after the other). With
# arguments: `between ARGS`. Compose runs `migrate` once, as a job of its own, and starts the
# web replicas (`serve --no-dispatcher`) and dispatchers (`dispatcher`) only after it
# succeeded; they never migrate.
ENTRYPOINT ["sh", "-c", "if [ $# -eq 0 ]; then between migrate && exec between serve; else exec between \"$@\"; fi", "between"]
CMD []
