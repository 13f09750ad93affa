# shellcheck shell=bash
# tidemark hack/lib/daemons.sh — owns how the test cluster's daemons are launched, recognised and
# stopped, and the free ports they get (sourced by hack/controlplane.sh and hack/node.sh; not run
# on its own).
#
# Every daemon runs detached in its own session, logs to $DAEMON_DIR/logs/NAME.log and has a
# pidfile $DAEMON_DIR/pids/NAME.pid holding "PID STARTTIME": STARTTIME is field 22 of
# /proc/PID/stat (clock ticks since boot when the process was created), written by the launcher
# itself before it execs. A PID alone is not an identity: PIDs wrap within minutes here, and every
# state dir runs the same binaries, so a stale pidfile can name another cluster's process. A
# daemon is ours only if PID and start time match AND its command line names its binary and
# $DAEMON_DIR; nothing else is ever signalled.
#
# The sourcing script sets DAEMON_DIR and defines log, die and daemon_bin NAME (the binary's path).

pid_of() { local pid="" _; [[ -f "$DAEMON_DIR/pids/$1.pid" ]] && { read -r pid _ <"$DAEMON_DIR/pids/$1.pid" || true; }; echo "$pid"; }
started_of() { # the pidfile's start time; for a pidfile written before start times were kept
  local pid="" t=""  # ("PID" alone) the running process's own, so its command line decides
  [[ -f "$DAEMON_DIR/pids/$1.pid" ]] && { read -r pid t <"$DAEMON_DIR/pids/$1.pid" || true; }
  if [[ -n "$t" ]]; then echo "$t"; elif [[ -n "$pid" ]]; then proc_start_time "$pid"; fi
}

proc_start_time() { # proc_start_time PID -> field 22 of /proc/PID/stat, or nothing
  local stat f
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  # comm (field 2) may hold spaces and parentheses: split what follows the last ") "
  read -r -a f <<<"${stat##*) }"   # f[0] is field 3
  printf '%s\n' "${f[19]:-}"
}

proc_is() { # proc_is PID STARTTIME: that very process still exists (not a reuse of its PID)
  [[ -n "$1" && -n "$2" && "$(proc_start_time "$1")" == "$2" ]]
}

# Alive AND really this state dir's daemon: same process (PID + start time, so a reused PID
# never matches), running its binary with $DAEMON_DIR on its command line.
component_alive() {
  local pid started cmd
  pid="$(pid_of "$1")"; started="$(started_of "$1")"
  proc_is "$pid" "$started" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  # (between launch and exec the command line is the launcher's, which names both too)
  [[ "$cmd" == *"$(daemon_bin "$1") "* && "$cmd" == *"$DAEMON_DIR/"* ]]
}

any_pidfile() { compgen -G "$DAEMON_DIR/pids/*.pid" >/dev/null 2>&1; }

free_ports() { # free_ports N -> N distinct TCP ports free on every address, one per line
  local n=$1
  if python3 -c 'pass' >/dev/null 2>&1; then
    python3 - "$n" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("0.0.0.0", 0)); socks.append(s)
for s in socks:
    print(s.getsockname()[1])
PY
    return
  fi
  local got=() p
  while ((${#got[@]} < n)); do
    p=$((20000 + RANDOM % 40000))
    [[ " ${got[*]} " == *" $p "* ]] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    got+=("$p")
  done
  printf '%s\n' "${got[@]}"
}

launch() { # launch NAME ARGS... — detached (own session), logs to $DAEMON_DIR/logs/NAME.log
  local name=$1; shift
  mkdir -p "$DAEMON_DIR/pids" "$DAEMON_DIR/logs"
  # the launcher writes its own PID and start time (kept across exec) before it becomes NAME
  setsid bash -c 's=$(</proc/$$/stat); f=(${s##*) }); echo "$$ ${f[19]}" >"$1.tmp" && mv "$1.tmp" "$1"; shift; exec "$@"' \
    _ "$DAEMON_DIR/pids/$name.pid" \
    "$(daemon_bin "$name")" "$@" </dev/null >"$DAEMON_DIR/logs/$name.log" 2>&1 8>&- 9>&- &
  local i
  for i in $(seq 50); do [[ -s "$DAEMON_DIR/pids/$name.pid" ]] && break; sleep 0.05; done
  [[ -s "$DAEMON_DIR/pids/$name.pid" ]] || die "could not launch $name"
}

wait_until() { # wait_until SECONDS DESCRIPTION COMPONENT CMD... (fails early if COMPONENT died)
  local secs=$1 what=$2 comp=$3; shift 3
  local deadline=$(( $(date +%s) + secs ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! component_alive "$comp"; then
      log "$comp exited while waiting for $what; last log lines:"
      tail -n 30 "$DAEMON_DIR/logs/$comp.log" >&2 || true
      return 1
    fi
    if (( $(date +%s) >= deadline )); then
      log "timed out after ${secs}s waiting for $what; last $comp log lines:"
      tail -n 30 "$DAEMON_DIR/logs/$comp.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

stop_one() { # stop_one NAME [TERM_SECONDS]: SIGTERM, wait (default 10 s), SIGKILL
  local name=$1 secs=${2:-10} pid started i
  pid="$(pid_of "$name")"; started="$(started_of "$name")"
  if component_alive "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    # proc_is, not kill -0: once it exits its PID may be reused by somebody else's process
    for i in $(seq $((secs * 10))); do proc_is "$pid" "$started" || break; sleep 0.1; done
    if proc_is "$pid" "$started"; then
      log "$name (pid $pid) ignored SIGTERM for ${secs}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for i in $(seq 50); do proc_is "$pid" "$started" || break; sleep 0.1; done
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$DAEMON_DIR/pids/$name.pid"
}
