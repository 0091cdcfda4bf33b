#!/bin/sh
# The processor container's entry point (/opt/protium/bin/processor).
#   processor          runs the processor (dist/src/processor/main.js)
#   processor fetch    fetches the function's artifact into the cache (dist/src/processor/fetch-artifact.js)
# It passes SIGTERM and SIGINT on to the processor (the engine's init passes them to us), and when the
# kernel killed the processor for exceeding the container's memory limit it says so on its last log line
# ("oomKilled": true): not every engine reports OOM kills in the container's state (Podman 4 on cgroup v1
# does not).
set -u
main=/opt/protium/dist/src/processor/main.js
if [ "${1:-}" = fetch ]; then main=/opt/protium/dist/src/processor/fetch-artifact.js; fi

oom_kills() {
  for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do
    if [ -r "$f" ]; then
      while read -r key value; do
        if [ "$key" = oom_kill ]; then echo "$value"; return; fi
      done < "$f"
    fi
  done
  echo 0
}

before=$(oom_kills)
node "$main" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM
trap 'kill -INT "$pid" 2>/dev/null' INT
# wait returns early when a trapped signal arrives: wait again until the processor has exited.
while :; do
  wait "$pid"
  code=$?
  kill -0 "$pid" 2>/dev/null || break
done
after=$(oom_kills)
if [ "$code" -eq 137 ] && [ "$after" -gt "$before" ]; then
  printf '{"time":"%s","level":"error","name":"processor","message":"The processor was killed for using more memory than the container is allowed (spec.resources.limits.memory)","oomKilled":true}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" >&2
fi
exit "$code"
