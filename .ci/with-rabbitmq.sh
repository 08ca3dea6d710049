#!/usr/bin/env bash
# Starts a local RabbitMQ broker, runs the given command with CARBS_TEST_BROKER_URL pointing at it, stops the
# broker (and epmd) again, and exits with the command's status.
#   bash .ci/with-rabbitmq.sh swift test
set -uo pipefail
port="${CARBS_TEST_BROKER_PORT:-5672}"
started_here=0

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_broker() {
    if ((started_here)); then
        echo "with-rabbitmq: stopping the broker" >&2
        rabbitmqctl stop >/dev/null 2>&1 || true
        # The node may take a moment to go; epmd only stops once no node is registered with it.
        for _ in $(seq 1 60); do
            pgrep -f "beam.smp.*rabbit" >/dev/null || break
            sleep 0.5
        done
        epmd -kill >/dev/null 2>&1 || true
    fi
}
trap stop_broker EXIT

if port_open "$port"; then
    echo "with-rabbitmq: a broker already listens on $port; using it" >&2
    # In CI the broker can only have been started by this run (the package's installation starts it on some
    # machines), so it is stopped again at the end.
    [[ "${CI:-}" == "true" ]] && started_here=1
else
    echo "with-rabbitmq: starting rabbitmq-server" >&2
    rabbitmq-server -detached >/dev/null 2>&1
    started_here=1
    for _ in $(seq 1 120); do
        port_open "$port" && break
        sleep 0.5
    done
    if ! port_open "$port"; then
        echo "with-rabbitmq: the broker did not open port $port within 60 s" >&2
        exit 1
    fi
    for _ in $(seq 1 30); do
        rabbitmqctl await_startup >/dev/null 2>&1 && break
        sleep 1
    done
    echo "with-rabbitmq: broker is up" >&2
fi

export CARBS_TEST_BROKER_URL="${CARBS_TEST_BROKER_URL:-amqp://guest:guest@127.0.0.1:$port/%2f}"
"$@"
status=$?
exit $status
