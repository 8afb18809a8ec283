# Every image of the platform, from the repository root:
#   docker build --build-arg SERVICE=identity -t portal-identity .   (likewise linking, content, audit, web, gateway)
#   docker build -t portal-ops .                                      (no SERVICE: every service's code)
# A service's image holds the shared package, the `portal` command (services/cli) and that service's code
# only; its web process and its Celery worker are the same image with another command, which the
# deployment gives (docker-compose.yml, deploy/k8s; docs/operations.md lists them). The operations image
# runs the one-shot `portal migrate`, the outbox relay (`portal relay`), the scheduler and operators' commands.

# The service's code alone, picked in a stage of its own so the other services never enter a layer.
FROM python:3.11-slim AS code
ARG SERVICE=
WORKDIR /src
COPY services/ services/
RUN if [ -n "$SERVICE" ]; then \
      test -f "services/$SERVICE/wsgi.py" || { echo "SERVICE=$SERVICE: no services/$SERVICE/wsgi.py" >&2; exit 1; }; \
      find services -mindepth 1 -maxdepth 1 -type d ! -name "$SERVICE" ! -name cli -exec rm -rf {} +; \
    fi

FROM python:3.11-slim
ARG SERVICE=

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_VAR_DIR=/var/lib/portal

WORKDIR /app
# Dependencies first: this layer is rebuilt only when the pins change.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml ./
COPY shared/ shared/
COPY --from=code /src/services/ services/
RUN pip install --no-deps -e . \
 && useradd --system --user-group --uid 10001 --home-dir /app --no-create-home portal \
 && mkdir -p /var/lib/portal && chown portal:portal /var/lib/portal

USER portal
EXPOSE 8000
CMD ["portal", "--help"]
