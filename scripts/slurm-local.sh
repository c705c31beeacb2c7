#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the test that submits a real job array
# (Tests/EndToEndTests/SlurmTests.swift) and for trying docs/scale.md's scripts by hand.
#
#   scripts/slurm-local.sh start    write /etc/slurm/slurm.conf for this host, start munged,
#                                   slurmctld and slurmd, and wait until the node is idle
#   scripts/slurm-local.sh stop     stop the three daemons
#
# Needs Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs them) and root: the
# daemons run as root with no cgroups (proctrack/linuxproc, task/none), which a container allows.
# An existing slurm.conf that this script did not write is left alone, and the start refused.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by hvae's scripts/slurm-local.sh"
STATE=/var/spool/hvae-slurm
die() { echo "slurm-local: $*" >&2; exit 1; }

start() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        || die "slurmctld, slurmd and munged are not installed (apt-get install slurmctld slurmd slurm-client munge)"
    [ "$(id -u)" = 0 ] || die "the daemons run as root here; run this as root"
    if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script; not touching a real cluster's configuration"
    fi
    local host cpus
    host="$(hostname -s)"
    cpus="$(nproc)"
    # State of its own, so that no other cluster's state files on this machine are read.
    mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d" /var/log/slurm /run/munge
    cat >"$CONF" <<EOF
$MARK
ClusterName=hvae-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
    chown -R munge:munge /etc/munge /run/munge 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
    pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged --force
    pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld || die "slurmctld did not start; see /var/log/slurm/slurmctld.log"
    pgrep -x slurmd >/dev/null || /usr/sbin/slurmd || die "slurmd did not start; see /var/log/slurm/slurmd.log"
    for _ in $(seq 1 60); do
        if sinfo --noheader --format=%t 2>/dev/null | grep -qx idle; then
            echo "slurm-local: node $host idle in partition debug" >&2
            return 0
        fi
        sleep 1
    done
    die "the node did not become idle in 60 s; see /var/log/slurm/slurmctld.log and slurmd.log"
}

stop() {
    pkill -x slurmd 2>/dev/null || true
    pkill -x slurmctld 2>/dev/null || true
    pkill -x munged 2>/dev/null || true
    # Wait until they are gone, so that a start right after starts them anew.
    for _ in $(seq 1 30); do
        pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || return 0
        sleep 0.5
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) die "usage: scripts/slurm-local.sh start|stop" ;;
esac
