#!/usr/bin/env bash
# Creates (or updates) the two least-privilege RabbitMQ users of one CARBS study:
#
#   carbs-<study>-optimizer   configure  ^carbs\.<study>\.        (declares the study's queues and its dlx)
#                             write      ^(amq\.default|carbs\.<study>\..*)$
#                             read       ^carbs\.<study>\.
#   carbs-<study>-worker      configure  ^$                       (nothing: workers only check queues passively)
#                             write      ^amq\.default$           (results are published via the default exchange)
#                             read       ^carbs\.<study>\.suggestions$
#
# Why the worker's write permission names amq.default and not the results queue: RabbitMQ checks `write` on the
# *exchange* a message is published to, and workers publish to the default exchange (routing key = queue name).
# The queue itself is not checked on publish. Consequence: write on amq.default lets a user publish to any queue
# of the virtual host. To keep one study's workers from injecting messages into another study's queues, give each
# study its own virtual host (--vhost); the regexes above then separate the roles within the study.
#
# Usage: setup-users.sh [--vhost VHOST] [--ctl "rabbitmqctl -n rabbit@host"] [--delete] STUDY
# Passwords come from CARBS_OPTIMIZER_PASSWORD and CARBS_WORKER_PASSWORD; an unset one is generated
# (openssl rand) and printed once on stdout as NAME=VALUE. Re-running updates passwords and permissions.
# --delete removes both users instead. The virtual host is created when missing (and never deleted).
# Note: rabbitmqctl receives the passwords as arguments (visible in `ps` on the broker host while it runs).
set -euo pipefail

vhost="/"
ctl="rabbitmqctl"
delete=0
while (($#)); do
    case "$1" in
        --vhost) vhost="$2"; shift 2 ;;
        --ctl) ctl="$2"; shift 2 ;;
        --delete) delete=1; shift ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        -*) echo "setup-users: unknown option $1" >&2; exit 64 ;;
        *) break ;;
    esac
done
if (($# != 1)); then
    echo "usage: setup-users.sh [--vhost VHOST] [--ctl COMMAND] [--delete] STUDY" >&2
    exit 64
fi
study="$1"
if [[ ! "$study" =~ ^[A-Za-z0-9._-]{1,100}$ ]]; then
    echo "setup-users: study name must be 1 to 100 characters of [A-Za-z0-9._-]" >&2
    exit 64
fi
read -r -a rabbitmqctl <<<"$ctl"

optimizer_user="carbs-$study-optimizer"
worker_user="carbs-$study-worker"

if ((delete)); then
    for user in "$optimizer_user" "$worker_user"; do
        "${rabbitmqctl[@]}" delete_user "$user" >/dev/null 2>&1 || true
    done
    echo "setup-users: deleted $optimizer_user and $worker_user" >&2
    exit 0
fi

# Regex-escape the study name: '.' is the only regex metacharacter the name may contain.
# (A study named "a" still matches "carbs.a.b.*" of a study named "a.b": avoid dots, or use a vhost per study.)
escaped="${study//./\\.}"
prefix="^carbs\\.$escaped\\."

generate() { openssl rand -hex 24; }
optimizer_password="${CARBS_OPTIMIZER_PASSWORD:-}"
worker_password="${CARBS_WORKER_PASSWORD:-}"
if [[ -z "$optimizer_password" ]]; then
    optimizer_password="$(generate)"
    echo "CARBS_OPTIMIZER_PASSWORD=$optimizer_password"
fi
if [[ -z "$worker_password" ]]; then
    worker_password="$(generate)"
    echo "CARBS_WORKER_PASSWORD=$worker_password"
fi

if ! "${rabbitmqctl[@]}" -q list_vhosts name | grep -qxF -- "$vhost"; then
    "${rabbitmqctl[@]}" add_vhost "$vhost" >/dev/null
fi

ensure_user() {  # user password
    if "${rabbitmqctl[@]}" -q list_users | cut -f1 | grep -qxF -- "$1"; then
        "${rabbitmqctl[@]}" change_password "$1" "$2" >/dev/null
    else
        "${rabbitmqctl[@]}" add_user "$1" "$2" >/dev/null
    fi
    # No tags: neither user may use the management UI or HTTP API.
    "${rabbitmqctl[@]}" set_user_tags "$1" >/dev/null
}

ensure_user "$optimizer_user" "$optimizer_password"
"${rabbitmqctl[@]}" set_permissions -p "$vhost" "$optimizer_user" \
    "$prefix" "^(amq\\.default|carbs\\.$escaped\\..*)\$" "$prefix" >/dev/null

ensure_user "$worker_user" "$worker_password"
"${rabbitmqctl[@]}" set_permissions -p "$vhost" "$worker_user" \
    '^$' '^amq\.default$' "^carbs\\.$escaped\\.suggestions\$" >/dev/null

echo "setup-users: $optimizer_user and $worker_user set up on vhost $vhost" >&2
