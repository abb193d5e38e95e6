# The spse image for every Airflow service of docker-compose.yml: Python 3.11, spse and its
# locked dependencies (uv.lock, with the airflow extra: Airflow 3.3.2 and the Celery and
# PostgreSQL providers), installed with uv. No secret is baked in: all come from the
# environment at run time.
#
#   docker compose build        (or: docker build -t spse-airflow .)

FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.9
ARG AIRFLOW_UID=50000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/spse/.venv \
    PATH=/opt/spse/.venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    SPSE_HOME=/opt/spse/var \
    TZ=UTC

# curl for the healthchecks, tini as PID 1 so that signals reach Airflow and Celery.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl tini \
    && rm -rf /var/lib/apt/lists/* \
    && python -m pip install --no-cache-dir "uv==${UV_VERSION}" \
    && useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --create-home --shell /bin/bash airflow

WORKDIR /opt/spse

# Dependencies first (cached while only the code changes), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra airflow --no-install-project

COPY spse ./spse
COPY sql ./sql
COPY dags ./dags
# Editable install: the compose volumes that mount ./spse, ./sql and ./dags over these
# folders take effect without a rebuild.
RUN uv sync --frozen --no-dev --extra airflow \
    && mkdir -p /opt/spse/var /opt/airflow/logs \
    && chown -R "${AIRFLOW_UID}:0" /opt/spse/var /opt/airflow \
    && chmod -R g+rwX /opt/spse/var /opt/airflow

USER ${AIRFLOW_UID}:0
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
