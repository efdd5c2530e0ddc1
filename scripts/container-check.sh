#!/usr/bin/env bash
# `make container-check`: build the image and prove the compose stack on this
# machine. Installs what it needs (podman with runc, debootstrap, netavark,
# podman-compose), builds the Debian base and the local PostgreSQL and Redis
# images once (cached), builds the app image (layers cached), then brings up
# docker-compose.yml + docker-compose.local.yml + deploy/check/ (an SMTP sink)
# as the project "huikuan-check" and checks it, printing each check.
#
#   HUIKUAN_CHECK_PORT=18015   host port the web container is published on
#   HUIKUAN_CHECK_KEEP=1       leave the stack running (and its volumes) at the end
set -eEuo pipefail
cd "$(dirname "$0")/.."
mkdir -p var

export CONTAINERS_CONF="$PWD/deploy/containers.conf"
project=huikuan-check
port=${HUIKUAN_CHECK_PORT:-18015}
host=huikuan.test # the first of DJANGO_ALLOWED_HOSTS in deploy/check/check.env
tools=var/container-tools
podman_compose_version=1.6.0
checks=0

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }
pass() {
  checks=$((checks + 1))
  printf 'PASS  %s\n' "$*"
}
fail() {
  printf 'FAIL  %s\n' "$*" >&2
  printf '      the stack is left running for a look: %s ps / logs SERVICE\n' \
    "CONTAINERS_CONF=$CONTAINERS_CONF $tools/bin/podman-compose -p $project" >&2
  exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

# --- Tools --------------------------------------------------------------------

step "tools"
packages=(podman runc debootstrap netavark aardvark-dns python3-venv curl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || fail "run as root (podman, debootstrap): missing ${missing[*]}"
  echo "Installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ "$(id -u)" -eq 0 ] || fail "run as root: debootstrap and podman's networks need it"
if ! "$tools/bin/podman-compose" --version 2>/dev/null | grep -q "$podman_compose_version"; then
  /usr/bin/python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet "podman-compose==$podman_compose_version"
fi
echo "$(podman --version), runtime $(podman info --format '{{.Host.OCIRuntime.Name}}'),"\
  "network $(podman info --format '{{.Host.NetworkBackend}}'), podman-compose $podman_compose_version"

# Behind a TLS-inspecting proxy pip in the build needs the host's CA bundle.
ca_bundle=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
build_secret=()
[ -s "$ca_bundle" ] && build_secret=(--secret "id=pip_cert,src=$ca_bundle")

# --- Images -------------------------------------------------------------------

step "images"
scripts/container-base.sh
echo "== building huikuan:latest (cached layers are reused)"
podman build --quiet --network host --format docker "${build_secret[@]}" \
  --build-arg BASE_IMAGE=debian:bookworm-slim -t huikuan:latest . >/dev/null
image_user=$(podman image inspect huikuan:latest --format '{{.Config.User}}')
[ -n "$image_user" ] && [ "$image_user" != root ] && [ "$image_user" != 0 ] ||
  fail "the image runs as root"
podman image inspect huikuan:latest --format '{{.HealthCheck.Test}}' | grep -q healthcheck.py ||
  fail "the image has no HEALTHCHECK on /healthz"
probe=$(podman run --rm --entrypoint python huikuan:latest -c '
import os, sys
from weasyprint.text.ffi import harfbuzz_subset
font = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
catalogue = "/app/locale/zh_Hans/LC_MESSAGES/django.mo"
print(os.getuid(), harfbuzz_subset is not None, os.path.exists(font), os.path.exists(catalogue))
' 2>/dev/null)
[ "$probe" = "1000 True True True" ] ||
  fail "image contents (uid, HarfBuzz subsetter, CJK font, catalogue): $probe"
size=$(podman image inspect huikuan:latest --format '{{.Size}}')
pass "image huikuan:latest ($((size / 1000000)) MB): user $image_user (uid 1000), HEALTHCHECK /healthz," \
  "HarfBuzz subsetter, CJK font, compiled catalogue"

# --- The stack ----------------------------------------------------------------

export HUIKUAN_ENV_FILE=deploy/check/check.env
export HUIKUAN_PUBLISH="127.0.0.1:$port"
export POSTGRES_PASSWORD=check-only-password
compose() {
  "$tools/bin/podman-compose" -p "$project" \
    -f docker-compose.yml -f docker-compose.local.yml -f deploy/check/docker-compose.check.yml "$@"
}
container() { echo "${project}_$1_${2:-1}"; }
in_web() { podman exec -i "$(container web)" "$@"; }

step "compose file"
compose config >/dev/null 2>var/container-check-config.log ||
  fail "podman-compose config: $(cat var/container-check-config.log)"
services=$("$tools/bin/podman-compose" -f docker-compose.yml config --services 2>/dev/null |
  sort | tr '\n' ' ') || fail "docker-compose.yml alone does not validate"
[ "$services" = "beat db migrate redis web worker " ] || fail "services: $services"
pass "docker-compose.yml validates (services: $services) and with the local and check overrides"

step "up"
# A clean start: no containers or volumes from an earlier run (a second `down`
# removes the volumes that containers of scaled services still held).
compose down -v --remove-orphans >/dev/null 2>&1 || true
compose down -v >/dev/null 2>&1 || true
leftover=$(podman volume ls -q | grep "^${project}_" || true)
[ -z "$leftover" ] || fail "volumes left from an earlier run: $leftover"
compose up -d >var/container-check-up.log 2>&1 || fail "compose up: see var/container-check-up.log"

wait_healthy() { # the image's HEALTHCHECK, run by hand (no systemd timers here)
  local deadline=$((SECONDS + 180))
  until podman healthcheck run "$(container web)" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "web not healthy after 180 s: $(podman logs --tail 20 "$(container web)" 2>&1)"
    sleep 2
  done
}
wait_healthy
migrate_status=$(podman wait "$(container migrate)")
[ "$migrate_status" = 0 ] || fail "migrate exited $migrate_status"
pass "stack up: migrate exited 0; db, redis, web, worker, beat, smtp running"

healthz() {
  curl -fsS -H "Host: $host" "http://127.0.0.1:$port/healthz"
}
answer=$(healthz) || fail "/healthz from the host"
[ "$answer" = '{"status": "ok", "database": "ok"}' ] || fail "/healthz answered $answer"
pass "/healthz through the web container: HEALTHCHECK healthy, http://127.0.0.1:$port/healthz -> $answer"

step "seed_demo"
in_web python manage.py seed_demo >var/container-check-seed.log 2>&1 ||
  fail "seed_demo: $(tail -5 var/container-check-seed.log)"
grep -q "Demo data ready" var/container-check-seed.log || fail "seed_demo did not finish"
pass "seed_demo inside the web container: $(grep -c '^Seeding' var/container-check-seed.log) apps seeded"

step "login"
login=$(/usr/bin/python3 deploy/check/login.py "http://127.0.0.1:$port" "$host" rep1 huikuan-demo) ||
  fail "rep1 login"
pass "$login"

# The dunning run: dispatched through Redis, run by the workers, mailed to the sink.
dunning_run() { # AS_OF APPROVE -> JSON summary on stdout
  { printf 'AS_OF = "%s"\nAPPROVE = %s\n' "$1" "$2"; cat deploy/check/dunning_run.py; } |
    in_web python manage.py shell -v 0 2>var/container-check-dunning.log | tail -1
}
json() { /usr/bin/python3 -c "import json, sys; print(eval(sys.argv[1], {}, json.load(sys.stdin)))" "$1"; }
sent_to_sink() { # JSON summary -> how many of its emailed ids the sink logged, of how many
  local ids
  ids=$(json '" ".join(emailed)' <<<"$1")
  local sink_log total=0 found=0
  sink_log=$(podman logs "$(container smtp)" 2>&1)
  for id in $ids; do
    total=$((total + 1))
    grep -q "\[$id\]" <<<"$sink_log" && found=$((found + 1))
  done
  echo "$found $total"
}
# A business date ahead of the seeded runs, so the ladder has new steps to take.
as_of=$(date -d '+14 days' +%F)

step "dunning run on the worker ($as_of)"
summary=$(dunning_run "$as_of" True) || fail "dunning run: $(tail -5 var/container-check-dunning.log)"
echo "$summary" | cut -c1-300
read -r found total <<<"$(sent_to_sink "$summary")"
sent=$(json 'by_status.get("sent", 0)' <<<"$summary")
[ "$(json 'chunks_failed' <<<"$summary")" = 0 ] || fail "chunks failed"
[ "$sent" -gt 0 ] && [ "$total" -gt 0 ] && [ "$found" = "$total" ] ||
  fail "messages sent $sent, emailed $total, reached the sink $found"
letters=$(json 'letters' <<<"$summary")
[ "$letters" -gt 0 ] || fail "no demand letter was rendered and sent"
worker_chunks=$(podman logs "$(container worker)" 2>&1 | grep -c 'dunning_chunk_task\[.*\] succeeded' || true)
[ "$worker_chunks" -gt 0 ] || fail "the worker logged no chunk"
pass "dunning run on the worker: $(json 'len(chunk_ids)' <<<"$summary") chunks, $sent messages sent" \
  "($letters with a PDF letter), $found of $total emails reached the SMTP sink"

step "three workers"
compose up -d --scale worker=3 >>var/container-check-up.log 2>&1 || fail "--scale worker=3"
deadline=$((SECONDS + 120))
until [ "$(podman exec "$(container worker)" celery -A config inspect ping --timeout 5 2>/dev/null |
  grep -c 'pong')" -ge 3 ]; do
  [ $SECONDS -lt $deadline ] || fail "three workers did not answer a ping"
  sleep 3
done
# A container just added to the network may not resolve names for a while
# (seen here: "failed to resolve host 'db'" for 40 s): wait until each worker
# reaches the database, so none is stuck in a task when the chunks arrive.
for n in 1 2 3; do
  until podman exec "$(container worker "$n")" python -c '
import socket; socket.create_connection(("db", 5432), timeout=5).close()' 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "worker $n does not reach the database"
    sleep 2
  done
done
sleep 5 # let a send sweep that started on an unresolved name end
as_of_2=$(date -d '+21 days' +%F)
summary=$(dunning_run "$as_of_2" False) || fail "dunning run: $(tail -5 var/container-check-dunning.log)"
chunk_ids=$(json '" ".join(str(i) for i in chunk_ids)' <<<"$summary")
per_worker=()
for n in 1 2 3; do
  log=$(podman logs "$(container worker "$n")" 2>&1)
  count=0
  for id in $chunk_ids; do
    grep -q "dunning_chunk_task\[.*\] succeeded in .*'chunk_id': $id," <<<"$log" && count=$((count + 1))
  done
  per_worker+=("$count")
done
total=$((per_worker[0] + per_worker[1] + per_worker[2]))
[ "$total" = "$(wc -w <<<"$chunk_ids")" ] || fail "chunks done $total of $(wc -w <<<"$chunk_ids")"
for count in "${per_worker[@]}"; do
  [ "$count" -gt 0 ] || fail "a worker took no chunk: ${per_worker[*]}"
done
pass "--scale worker=3: the $total chunks of the $as_of_2 run split ${per_worker[*]} over three workers"

step "stop and restart"
counts() {
  in_web python manage.py shell -v 0 -c '
from django.contrib.auth import get_user_model
from receivables.models import Customer, Invoice
from dunning.models import Communication
import pathlib
media = sum(1 for p in pathlib.Path("/app/var/media").rglob("*") if p.is_file())
print(get_user_model().objects.count(), Customer.objects.count(), Invoice.objects.count(),
      Communication.objects.filter(status="sent").count(), media)' 2>/dev/null | tail -1
}
before=$(counts)
compose down --remove-orphans >>var/container-check-up.log 2>&1 || fail "compose down"
[ -z "$(podman ps -aq --filter "label=io.podman.compose.project=$project")" ] ||
  fail "containers left after down: $(podman ps -a --format '{{.Names}}' --filter "label=io.podman.compose.project=$project")"
compose up -d >>var/container-check-up.log 2>&1 || fail "compose up after down"
wait_healthy
after=$(counts)
[ "$before" = "$after" ] || fail "data changed over the restart: $before -> $after"
/usr/bin/python3 deploy/check/login.py "http://127.0.0.1:$port" "$host" rep1 huikuan-demo \
  >/dev/null || fail "rep1 login after the restart"
pass "down and up again: users, customers, invoices, sent messages, media files unchanged" \
  "($after), rep1 logs in"

step "upgrade path: migrate first"
compose run --rm migrate >var/container-check-migrate.log 2>&1 ||
  fail "run --rm migrate: $(tail -5 var/container-check-migrate.log)"
grep -q "No migrations to apply" var/container-check-migrate.log ||
  fail "run --rm migrate: $(tail -5 var/container-check-migrate.log)"
compose up -d >>var/container-check-up.log 2>&1 || fail "up -d after migrate"
wait_healthy
pass "run --rm migrate against the running stack (nothing to apply), then up -d: web healthy"

step "done"
if [ -n "${HUIKUAN_CHECK_KEEP:-}" ]; then
  echo "The stack is still running: http://127.0.0.1:$port (Host: $host)"
else
  compose down -v --remove-orphans >>var/container-check-up.log 2>&1
fi
echo "container-check: all $checks checks passed"
