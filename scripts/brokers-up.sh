#!/usr/bin/env bash
# Makes sure the brokers the stream tests read are answering on loopback, starting the
# machine's own when they are stopped: Redis (6379), RabbitMQ (5672), NATS JetStream (4222).
set -euo pipefail
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "scripts/brokers-up.sh: no Redis on 127.0.0.1:6379" >&2; exit 1; }
# RabbitMQ (5672) and NATS with JetStream (4222), the same way.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! port_open 5672; then
  rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 60); do port_open 5672 && break; sleep 1; done
fi
if ! port_open 4222; then
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log >/dev/null 2>&1 || true
  for _ in $(seq 30); do port_open 4222 && break; sleep 0.5; done
fi
port_open 5672 || { echo "scripts/brokers-up.sh: no RabbitMQ on 127.0.0.1:5672" >&2; exit 1; }
port_open 4222 || { echo "scripts/brokers-up.sh: no NATS on 127.0.0.1:4222" >&2; exit 1; }
