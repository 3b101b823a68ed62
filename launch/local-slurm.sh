#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost from Debian's packages (munge, slurmctld, slurmd),
# for tests and for trying the sbatch scripts. State lives in a run directory; only the daemons
# started here are stopped (by pid).
#   launch/local-slurm.sh start DIR    # prints 'export SLURM_CONF=DIR/slurm.conf' when idle
#   launch/local-slurm.sh stop DIR
set -euo pipefail
cmd=${1:-}; D=${2:-}
[[ -n $cmd && -n $D ]] || { sed -n '2,7p' "$0"; exit 2; }

wait_gone() {  # wait until pid $1 has exited (or is a zombie)
  for _ in $(seq 1 100); do
    st=$(ps -o stat= -p "$1" 2>/dev/null || true)
    [[ -z $st || $st == Z* ]] && return 0
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
}

case $cmd in
start)
  command -v slurmctld >/dev/null && command -v munged >/dev/null || {
    echo "local-slurm: slurm-wlm and munge are not installed (bash scripts/setup.sh installs them)" >&2; exit 2; }
  mkdir -p "$D"/{munge,state,spool,log}
  D=$(cd "$D" && pwd)
  chmod 755 "$D"
  runuser -u munge -- test -x "$D" || {
    echo "local-slurm: the munge user cannot reach $D (a parent directory is not world-searchable)" >&2; exit 2; }
  # munge: its own key and socket, run as the munge user.
  chown munge:munge "$D/munge" && chmod 700 "$D/munge"
  dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$D/munge/munge.key" && chmod 400 "$D/munge/munge.key"
  runuser -u munge -- /usr/sbin/munged --force --key-file="$D/munge/munge.key" \
    --socket="$D/munge/munge.socket" --pid-file="$D/munge/munged.pid" \
    --log-file="$D/munge/munged.log" --seed-file="$D/munge/munged.seed"
  for _ in $(seq 1 50); do [[ -S $D/munge/munge.socket ]] && break; sleep 0.1; done
  cpus=$(( $(nproc) < 4 ? 4 : $(nproc) ))
  cat >"$D/slurm.conf" <<CONF
ClusterName=tkglocal
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/munge.socket
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$D/slurm.conf
  slurmctld -D -f "$SLURM_CONF" >"$D/log/slurmctld.out" 2>&1 &
  echo $! >"$D/slurmctld.daemon.pid"
  slurmd -D -N localhost -f "$SLURM_CONF" >"$D/log/slurmd.out" 2>&1 &
  echo $! >"$D/slurmd.daemon.pid"
  for _ in $(seq 1 200); do
    state=$(sinfo -h -o %T 2>/dev/null || true)
    [[ $state == idle ]] && { echo "export SLURM_CONF=$SLURM_CONF"; exit 0; }
    sleep 0.1
  done
  echo "local-slurm: node did not become idle (state '${state:-none}'); logs in $D/log" >&2
  "$0" stop "$D" || true
  exit 1 ;;
stop)
  for f in slurmd.daemon.pid slurmctld.daemon.pid; do
    [[ -f $D/$f ]] && { pid=$(cat "$D/$f"); kill -TERM "$pid" 2>/dev/null || true; wait_gone "$pid"; rm -f "$D/$f"; }
  done
  if [[ -f $D/munge/munged.pid ]]; then
    pid=$(cat "$D/munge/munged.pid"); kill -TERM "$pid" 2>/dev/null || true; wait_gone "$pid"
  fi
  exit 0 ;;
*) echo "local-slurm: unknown command '$cmd' (start or stop)" >&2; exit 2 ;;
esac
