#!/usr/bin/env bash
# phase.sh NAME CMD...: runs CMD and prints "phase NAME: Ns (exit N)" to stderr, so a
# `make test` log shows where a cold run's time went (docs/development.md keeps the table).
t0=$(date +%s)
"${@:2}"
rc=$?
echo "phase $1: $(( $(date +%s) - t0 ))s (exit $rc)" >&2
exit $rc
