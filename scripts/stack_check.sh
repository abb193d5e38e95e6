#!/usr/bin/env bash
# Prove the production stack of docker-compose.yml without a Docker engine: the same Airflow
# services (api-server, scheduler, dag-processor, triggerer, Celery worker) run here as
# processes against the local PostgreSQL (metadata + Celery results) and Redis (broker),
# with CeleryExecutor. They run spse_daily for the demo day and must succeed, its three
# writing tasks in the pool spse_writer under a PostgreSQL writer lock. Then (unless
# STACK_CRASH_CHECK=0) a second run's worker is killed with -9 while raise_alerts runs: the
# task must be retried on a new worker within STACK_CRASH_LIMIT_S (240 s) and the run succeed.
#
#   bash scripts/stack_check.sh        (or: make stack-check)
#
# Needs: the project venv with the airflow extra (uv sync --frozen --extra airflow),
# PostgreSQL on 127.0.0.1:5432 reachable as $PGUSER without a password (trust), Redis on
# 127.0.0.1:6379. The database $STACK_DB is dropped and re-created on each run, so every
# check starts from an empty metadata database. Secrets (Fernet key, JWT secret, API
# secret key) are generated for the run and never written to a tracked file.
# Everything it starts runs in its own process group and is stopped on exit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_BIN="${VENV_BIN:-$REPO/.venv/bin}"
WORK="${STACK_WORK:-$REPO/.airflow/stack}"
PGHOST_ADDR="${PGHOST_ADDR:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
STACK_DB="${STACK_DB:-spse_airflow}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
API_PORT="${STACK_API_PORT:-18080}"
HEALTH_PORT="${STACK_HEALTH_PORT:-18974}"
RUN_TIMEOUT_S="${STACK_RUN_TIMEOUT_S:-600}"
# 06:00 Europe/Paris on 2026-01-16 = 05:00 UTC: the run reports on demo day 2026-01-15.
LOGICAL_DATE="2026-01-16T05:00:00+00:00"
RUN_ID="stack_check__$(date -u +%Y%m%dT%H%M%S)"

log() { printf '[stack-check %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
psql_db() { psql -h "$PGHOST_ADDR" -p "$PGPORT" -U "$PGUSER" -v ON_ERROR_STOP=1 -qtA "$@"; }

for tool in psql redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "stack-check: $tool is required" >&2; exit 2; }
done
[[ -x "$VENV_BIN/airflow" ]] || { echo "stack-check: $VENV_BIN/airflow missing: uv sync --frozen --extra airflow" >&2; exit 2; }
"$VENV_BIN/python" - <<'PY'
import importlib.metadata as md
import sys

wanted = ["apache-airflow-providers-celery", "apache-airflow-providers-postgres", "psycopg2-binary", "redis", "celery"]
missing = []
for name in wanted:
    try:
        print(f"  {name} {md.version(name)}")
    except md.PackageNotFoundError:
        missing.append(name)
if missing:
    sys.exit(f"stack-check: missing in the venv: {', '.join(missing)}")
PY

psql_db -d postgres -c 'select 1' >/dev/null || { echo "stack-check: PostgreSQL not reachable on $PGHOST_ADDR:$PGPORT as $PGUSER" >&2; exit 2; }
redis-cli -u "$REDIS_URL" ping | grep -q PONG || { echo "stack-check: Redis not reachable at $REDIS_URL" >&2; exit 2; }

rm -rf "$WORK"
mkdir -p "$WORK/home" "$WORK/logs"
log "fresh metadata database $STACK_DB on $PGHOST_ADDR:$PGPORT"
psql_db -d postgres -c "drop database if exists $STACK_DB with (force)"
psql_db -d postgres -c "create database $STACK_DB"

secret() { "$VENV_BIN/python" -c 'import secrets; print(secrets.token_urlsafe(64))'; }
export AIRFLOW_HOME="$WORK/home"
export SPSE_HOME="$WORK/spse_home"
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://$PGUSER@$PGHOST_ADDR:$PGPORT/$STACK_DB"
export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql://$PGUSER@$PGHOST_ADDR:$PGPORT/$STACK_DB"
export AIRFLOW__CELERY__BROKER_URL="$REDIS_URL"
export AIRFLOW__CELERY__WORKER_CONCURRENCY=2
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
# Only the triggered run: no cron run of today's slot (it would report on a day the demo
# bundle lacks, and hold spse_daily's single active run).
export AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False
export AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT=21600
export AIRFLOW__CORE__FERNET_KEY="$("$VENV_BIN/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
export AIRFLOW__API_AUTH__JWT_SECRET="$(secret)"
export AIRFLOW__API__SECRET_KEY="$(secret)"
export AIRFLOW__API__PORT="$API_PORT"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__WORKERS=1
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$API_PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=True
export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=60
export AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT="$HEALTH_PORT"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
for var in $(compgen -e); do
  [[ "$var" == SPSE_*_URL ]] && unset "$var"
done
# The writer lock as in docker-compose: an advisory lock on the metadata server (so no
# $SPSE_HOME/locks/writer.lock may appear, checked at the end).
export SPSE_LOCK_DATABASE_URL="postgresql://$PGUSER@$PGHOST_ADDR:$PGPORT/$STACK_DB"

PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for _ in $(seq 30); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 1
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  if (( status != 0 )); then
    log "FAILED (exit $status); service logs in $WORK/logs, task logs in $AIRFLOW_HOME/logs"
    tail -n 25 "$WORK"/logs/*.log 2>/dev/null || true
  fi
  exit "$status"
}
trap cleanup EXIT INT TERM

start() {  # start NAME CMD...: in its own process group, output to logs/NAME.log
  local name=$1; shift
  setsid "$@" >"$WORK/logs/$name.log" 2>&1 < /dev/null &
  PIDS+=("$!")
  log "started $name (pid $!)"
}

forget() {  # forget PID: a service stopped on purpose, no longer watched nor stopped on exit
  local keep=() pid
  for pid in "${PIDS[@]}"; do [[ "$pid" == "$1" ]] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

wait_for() {  # wait_for SECONDS DESCRIPTION CMD...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || { log "timed out after ${limit}s waiting for $what"; return 1; }
    for pid in "${PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || { log "a service exited early (pid $pid)"; return 1; }
    done
    sleep 3
  done
}

log "demo bundle into $SPSE_HOME"
"$VENV_BIN/spse" demo >"$WORK/logs/demo.log" 2>&1
log "airflow db migrate"
"$VENV_BIN/airflow" db migrate >"$WORK/logs/db-migrate.log" 2>&1
log "pool spse_writer (1 slot) for spse_daily's writing steps"
"$VENV_BIN/airflow" pools set spse_writer 1 "spse_daily writing steps" >"$WORK/logs/pools.log" 2>&1

start api-server "$VENV_BIN/airflow" api-server --port "$API_PORT"
start scheduler "$VENV_BIN/airflow" scheduler
start dag-processor "$VENV_BIN/airflow" dag-processor
start triggerer "$VENV_BIN/airflow" triggerer
start celery-worker "$VENV_BIN/airflow" celery worker --concurrency 2
WORKER_PID=$!

api_up() { curl -fsS "http://127.0.0.1:$API_PORT/api/v2/version"; }
wait_for 180 "the api-server" api_up
log "api-server: $(api_up)"
dag_parsed() { [[ "$(psql_db -d "$STACK_DB" -c "select count(*) from serialized_dag where dag_id = 'spse_daily'")" -ge 1 ]]; }
wait_for 240 "the dag-processor to serialize spse_daily" dag_parsed
worker_up() { "$VENV_BIN/celery" --app airflow.providers.celery.executors.celery_executor.app inspect ping --timeout 5; }
wait_for 180 "the Celery worker" worker_up

"$VENV_BIN/airflow" dags unpause spse_daily >"$WORK/logs/unpause.log" 2>&1
"$VENV_BIN/airflow" dags trigger spse_daily --logical-date "$LOGICAL_DATE" --run-id "$RUN_ID" \
  >"$WORK/logs/trigger.log" 2>&1
log "triggered spse_daily run $RUN_ID (logical date $LOGICAL_DATE), waiting up to ${RUN_TIMEOUT_S}s"

run_state() { psql_db -d "$STACK_DB" -c "select state from dag_run where dag_id = 'spse_daily' and run_id = '$RUN_ID'"; }
deadline=$((SECONDS + RUN_TIMEOUT_S))
state=""
while (( SECONDS < deadline )); do
  state="$(run_state)"
  [[ "$state" == success || "$state" == failed ]] && break
  sleep 5
done
psql_db -d "$STACK_DB" -F ' ' -c "select task_id, state, try_number, hostname from task_instance
  where dag_id = 'spse_daily' and run_id = '$RUN_ID' order by start_date nulls last" | sed 's/^/  /'
[[ "$state" == success ]] || { log "spse_daily run $RUN_ID ended in state '${state:-none}'"; exit 1; }

health="$(curl -fsS "http://127.0.0.1:$API_PORT/api/v2/monitor/health")"
log "api-server health: $health"
grep -q '"metadatabase":{"status":"healthy"' <<<"${health// /}"
curl -fsS "http://127.0.0.1:$HEALTH_PORT/health" >/dev/null
[[ -f "$SPSE_HOME/warehouse/spse.duckdb" && -f "$SPSE_HOME/bulletin/2026-01-15.html" ]]
pool_tis="$(psql_db -d "$STACK_DB" -c "select count(*) from task_instance where dag_id = 'spse_daily'
  and run_id = '$RUN_ID' and pool = 'spse_writer' and state = 'success'")"
[[ "$pool_tis" == 3 ]] || { log "expected 3 tasks run in pool spse_writer, found $pool_tis"; exit 1; }
[[ ! -e "$SPSE_HOME/locks/writer.lock" ]] || { log "the writer lock fell back to a file, not PostgreSQL"; exit 1; }
if [[ "${STACK_CRASH_CHECK:-1}" != 0 ]]; then
  # A Celery worker dies (kill -9) while it runs raise_alerts: the scheduler must fail the
  # task once its heartbeat is TASK_INSTANCE_HEARTBEAT_TIMEOUT (60 s) old, and a new worker
  # retry it after spse_daily's 1-minute retry_delay: within STACK_CRASH_LIMIT_S of the kill.
  # raise_alerts is held running by a process holding the writer lock until the kill.
  CRASH_RUN_ID="stack_crash__$(date -u +%Y%m%dT%H%M%S)"
  held="$WORK/lock-held"
  start lock-holder "$VENV_BIN/python" -c "
import pathlib, time
from spse.pipeline import locking
with locking.writer_lock('stack-check crash phase', timeout_s=30):
    pathlib.Path('$held').touch()
    time.sleep(900)"
  HOLDER_PID=$!
  wait_for 60 "the lock holder" test -f "$held"
  "$VENV_BIN/airflow" dags trigger spse_daily --logical-date 2026-01-17T05:00:00+00:00 --run-id "$CRASH_RUN_ID" \
    --conf '{"target_date": "2026-01-15"}' >"$WORK/logs/trigger-crash.log" 2>&1
  ti_state() { psql_db -d "$STACK_DB" -c "select state || ' ' || try_number from task_instance where dag_id = 'spse_daily'
    and run_id = '$CRASH_RUN_ID' and task_id = 'raise_alerts'"; }
  raise_alerts_running() { [[ "$(ti_state)" == "running 1" ]]; }
  wait_for 300 "raise_alerts of $CRASH_RUN_ID to run (waiting on the lock)" raise_alerts_running
  sleep 5
  kill -KILL -- "-$WORKER_PID"
  killed_at=$SECONDS
  forget "$WORKER_PID"
  log "killed the Celery worker (process group $WORKER_PID) while raise_alerts ran"
  kill -TERM -- "-$HOLDER_PID"
  forget "$HOLDER_PID"
  start celery-worker-2 "$VENV_BIN/airflow" celery worker --concurrency 2
  limit="${STACK_CRASH_LIMIT_S:-240}"
  retried() { [[ "$(ti_state)" == "success 2" ]]; }
  wait_for "$limit" "raise_alerts to be retried after the worker's death" retried
  log "raise_alerts retried and succeeded $((SECONDS - killed_at)) s after its worker was killed (limit ${limit} s)"
  deadline=$((SECONDS + RUN_TIMEOUT_S))
  until [[ "$(psql_db -d "$STACK_DB" -c "select state from dag_run where run_id = '$CRASH_RUN_ID'")" == success ]]; do
    (( SECONDS < deadline )) || { log "run $CRASH_RUN_ID did not succeed after the retry"; exit 1; }
    sleep 5
  done
fi
log "OK: spse_daily succeeded on CeleryExecutor (PostgreSQL $STACK_DB, Redis $REDIS_URL) in ${SECONDS}s"
