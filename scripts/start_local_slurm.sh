#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine (for the tests marked `slurm` and the Slurm benchmark).
#
# Idempotent: a cluster that already answers with an idle or mixed node is left alone. Needs root and
# Debian/Ubuntu (installs `slurm-wlm` and `munge` with apt-get when `slurmctld` is missing). Writes
# /etc/slurm/slurm.conf for one node named after this host at 127.0.0.1 with all its CPUs, starts
# munged, slurmctld and slurmd, and waits until `sinfo` shows the node usable.
#
# Accounting: Debian 12's Slurm (22.05) has no flat-file accounting storage any more (only slurmdbd,
# which needs MariaDB). The job-completion log `JobCompType=jobcomp/filetxt` is enough for
# `sacct --completion` (`sacct -c`) to list finished jobs and array tasks with their state and exit code,
# so no database is started. Real clusters run slurmdbd and plain `sacct` works there.
set -euo pipefail

SLURM_CONF=/etc/slurm/slurm.conf
LOG_DIR=/var/log/slurm
JOBCOMP_LOG=$LOG_DIR/jobcomp.log
HOST=$(hostname -s)

log() { echo "[start_local_slurm] $*"; }

node_ready() {
    command -v sinfo >/dev/null 2>&1 || return 1
    local state
    state=$(timeout 10 sinfo -h -n "$HOST" -o '%T' 2>/dev/null | head -n1) || return 1
    [[ $state == idle* || $state == mixed* || $state == allocated* ]]
}

if node_ready; then
    log "Slurm already running: $(sinfo -h -o '%P %D %T %c CPUs')"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "start_local_slurm.sh must run as root (installs packages, starts munged/slurmctld/slurmd)" >&2
    exit 1
fi

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    log "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null
fi

# munge: a key readable only by the munge user, then the daemon
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating a munge key"
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
        || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
if ! pidof munged >/dev/null; then
    log "starting munged"
    su -s /bin/sh munge -c "munged" 2>/dev/null || munged --force
fi

# slurm.conf: this host's CPUs, sockets and memory as slurmd detects them
hardware=$(slurmd -C | head -n1 | sed -e "s/^NodeName=[^ ]*//")
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd "$LOG_DIR"
cat >"$SLURM_CONF.new" <<EOF
# one-node test cluster written by scripts/start_local_slurm.sh
ClusterName=glass
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$JOBCOMP_LOG
KillWait=5
MinJobAge=300
MaxArraySize=10001
MaxJobCount=20000
NodeName=$HOST NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
if ! cmp -s "$SLURM_CONF.new" "$SLURM_CONF"; then
    mv "$SLURM_CONF.new" "$SLURM_CONF"
    changed=1
else
    rm -f "$SLURM_CONF.new"
    changed=0
fi

if pidof slurmctld >/dev/null && [[ $changed -eq 1 ]]; then
    log "slurm.conf changed: reconfiguring"
    scontrol reconfigure || true
fi
if ! pidof slurmctld >/dev/null; then
    log "starting slurmctld"
    slurmctld
fi
if ! pidof slurmd >/dev/null; then
    log "starting slurmd"
    slurmd
fi

for _ in $(seq 1 60); do
    if node_ready; then
        log "Slurm ready: $(sinfo -h -o '%P %D %T %c CPUs')"
        exit 0
    fi
    state=$(sinfo -h -n "$HOST" -o '%T' 2>/dev/null | head -n1 || true)
    if [[ $state == down* || $state == drain* ]]; then
        scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true
    fi
    sleep 1
done
echo "Slurm did not come up; see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd.log" >&2
sinfo -N -l >&2 || true
exit 1
