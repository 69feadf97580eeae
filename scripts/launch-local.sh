#!/usr/bin/env bash
# Starts N processes of CMD on this machine as the ranks of one torch.distributed run, with the
# environment torchrun gives (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
# MASTER_PORT), for systems whose torchrun does not start (Debian 12's; docs/distributed.md).
#
#   scripts/launch-local.sh N CMD [ARGS...]
#
# When a rank fails, the others are stopped (SIGTERM, then SIGKILL after LAUNCH_GRACE seconds,
# default 10) and the launcher exits with the failed rank's status; SIGINT / SIGTERM to the launcher
# reach every rank. MASTER_PORT: a free port unless set. LAUNCH_LOG_DIR: each rank's stdout and
# stderr go to DIR/rank<R>.log instead of the terminal.
set -uo pipefail
if (($# < 2)) || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: launch-local.sh N CMD [ARGS...]   (N >= 1 processes)" >&2
  exit 2
fi
n=$1
shift
grace=${LAUNCH_GRACE:-10}
if [[ -z ${MASTER_PORT:-} ]]; then
  MASTER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
                2>/dev/null || echo $((20000 + RANDOM % 30000)))
fi
export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1} MASTER_PORT WORLD_SIZE=$n LOCAL_WORLD_SIZE=$n
if [[ -n ${LAUNCH_LOG_DIR:-} ]]; then mkdir -p "$LAUNCH_LOG_DIR" || exit 1; fi

declare -A rank_of=()
pids=()
stop_all() {  # $1: the signal; to the ranks still running
  for p in "${pids[@]}"; do [[ -n ${rank_of[$p]:-} ]] && kill -s "$1" "$p" 2>/dev/null; done
}
trap 'stop_all TERM' TERM
trap 'stop_all INT' INT
for ((r = 0; r < n; r++)); do
  if [[ -n ${LAUNCH_LOG_DIR:-} ]]; then
    RANK=$r LOCAL_RANK=$r "$@" >"$LAUNCH_LOG_DIR/rank$r.log" 2>&1 &
  else
    RANK=$r LOCAL_RANK=$r "$@" &
  fi
  pids+=($!)
  rank_of[$!]=$r
done

# Poll rather than `wait -n`: bash forgets a finished job that another wait already noticed.
status=0
left=$n
while ((left > 0)); do
  for p in "${pids[@]}"; do
    [[ -z ${rank_of[$p]:-} ]] && continue
    kill -0 "$p" 2>/dev/null && continue
    wait "$p"
    code=$?
    r=${rank_of[$p]}
    unset "rank_of[$p]"
    ((left--))
    if ((code != 0 && status == 0)); then
      status=$code
      echo "launch-local: rank $r (pid $p) exited with status $code; stopping the others" >&2
      stop_all TERM
      deadline=$((SECONDS + grace))
    fi
  done
  if [[ -n ${deadline:-} ]] && ((SECONDS >= deadline)); then stop_all KILL; unset deadline; fi
  ((left > 0)) && sleep 0.2
done
exit $status
