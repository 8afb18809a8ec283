# The operations image: every service's code, for the one-shot `portal migrate`, the outbox relay
# (`portal relay`) and operators' commands (`portal events dead-letters`, `portal events replay`,
# `portal grant-role`). Each service's own image is services/<name>/Dockerfile.
#   docker build -t portal-ops .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_VAR_DIR=/var/lib/portal

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml ./
COPY shared/ shared/
COPY services/ services/
RUN pip install --no-deps -e . \
 && useradd --system --user-group --uid 10001 --home-dir /app --no-create-home portal \
 && mkdir -p /var/lib/portal && chown portal:portal /var/lib/portal

USER portal
CMD ["portal", "--help"]
