# Between: one image for the web app, the migrations and the reminder dispatcher.
#
#   docker build -t between .
#   docker run ... between                    migrate, then serve (web + one dispatcher)
#   docker run ... between serve --no-dispatcher   any other `between` command
#
# It runs in production mode, so it refuses to start without BETWEEN_SECRET_KEY,
# an https:// BETWEEN_BASE_URL and the VAPID settings (see .env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/between

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
    && pip install . \
    && pip uninstall -y between \
    && rm -rf app build *.egg-info

COPY app ./app
RUN pip install --no-deps . && rm -rf build *.egg-info

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

# No curl in the slim image: Python asks /healthz, which also checks the database.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# Without arguments: migrate, then serve. With arguments: `between ARGS`
# (compose runs `migrate`, `serve --no-dispatcher` and `dispatcher` this way).
ENTRYPOINT ["sh", "-c", "if [ $# -eq 0 ]; then between migrate && exec between serve; else exec between \"$@\"; fi", "between"]
CMD []
