#!/usr/bin/env bash
# The Slurm path on a real cluster: installs Debian's slurmctld, slurmd and munge, starts a one-node cluster of
# its own on this machine (private key, ports, state and logs under a temporary directory; no systemd), and runs
# a small sharded sweep through it twice:
#   A. `mf slurm --out job.sh`, submitted once with `sbatch` from another directory: the shard array, then stage
#      2 (merge, final jobs, table). The table must be byte-identical to a single-process `mf sweep`, every
#      merged record line byte-identical to its shard's, every record's key and scores to the single run's.
#   B. `mf slurm --submit`, one shard cancelled mid-run: stage 2 must fail naming it, `mf slurm --resubmit`
#      must rerun it alone, and the table and records must again equal the single run's.
# It stops every daemon it started. When Slurm cannot be installed or started it says so loudly and exits 0
# (exit 1 instead with MF_REQUIRE_SLURM=1).
#
# Usage: .ci/slurm.sh [path/to/mf]   (default target/debug/mf, as `cargo test` builds it)
set -uo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
mf="$(realpath "${1:-target/debug/mf}")"
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
export DEBIAN_FRONTEND=noninteractive

say() { echo "slurm-ci: $*" >&2; }
skip() {
    echo "" >&2
    echo "################################################################################" >&2
    echo "## SKIPPED: the real-Slurm check did not run: $*" >&2
    echo "################################################################################" >&2
    if [ "${MF_REQUIRE_SLURM:-0}" = 1 ]; then
        exit 1
    fi
    exit 0
}

[ -x "$mf" ] || { say "FAILED: no mf binary at $mf (run cargo test --workspace first)"; exit 1; }

# 1. Slurm and munge from Debian's packages.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
    || ! command -v sbatch >/dev/null; then
    [ "$(id -u)" = 0 ] || skip "slurmctld, slurmd or munged is missing and installing them needs root"
    command -v apt-get >/dev/null || skip "slurmctld, slurmd or munged is missing and there is no apt-get"
    say "installing slurmctld slurmd munge"
    if ! { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends slurmctld slurmd munge; } \
        >/tmp/mf-slurm-apt.log 2>&1; then
        tail -n 20 /tmp/mf-slurm-apt.log >&2
        skip "apt-get install slurmctld slurmd munge failed (log above)"
    fi
fi
for tool in slurmctld slurmd munged munge unmunge sbatch squeue scancel scontrol sinfo; do
    command -v "$tool" >/dev/null || skip "$tool is missing after the installation"
done
say "$(slurmctld -V), $(munged -V 2>&1 | head -n 1)"
installed=$(date +%s)

# 2. A private cluster: everything under $w, our own munge key and socket, ports that are free.
w="$(mktemp -d /tmp/mf-slurm-ci.XXXXXX)"
chmod 755 "$w"
munged_pid="" ctld_pid="" slurmd_pid=""
export SLURM_CONF="$w/slurm.conf"

logs() {
    for f in "$w"/log/* "$w"/exp/*.out "$w"/exp2/*.out; do
        [ -f "$f" ] || continue
        echo "----- $f (last 30 lines)" >&2
        tail -n 30 "$f" >&2
    done
}

# The slurmstepd processes of this cluster (one per running job, detached from slurmd): those writing to its
# log directory.
stepds() {
    local f pid
    for f in /proc/[0-9]*/cmdline; do
        pid=${f#/proc/}
        pid=${pid%/cmdline}
        grep -q '^slurmstepd' "$f" 2>/dev/null || continue
        ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -F -- "$w/" && echo "$pid"
    done
}

# Whether process $1 runs (a zombie does not).
alive() {
    [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

stop_daemons() {
    local deadline=$(($(date +%s) + 30)) pid
    if alive "$ctld_pid"; then
        # Jobs outlive slurmd, and a job step reporting its end waits for slurmctld: end them first.
        timeout 10 scancel --full --user="$(id -un)" >/dev/null 2>&1
        while [ "$(date +%s)" -lt "$deadline" ] && alive "$ctld_pid"; do
            [ -z "$(timeout 5 squeue -h 2>/dev/null)" ] && [ -z "$(stepds)" ] && break
            sleep 0.5
        done
    fi
    for pid in "$slurmd_pid" "$ctld_pid" "$munged_pid"; do
        alive "$pid" && kill "$pid" 2>/dev/null
    done
    deadline=$(($(date +%s) + 10))
    for pid in "$slurmd_pid" "$ctld_pid" "$munged_pid"; do
        while alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do
            sleep 0.2
        done
        alive "$pid" && kill -9 "$pid" 2>/dev/null
    done
    # Steps left without slurmctld retry their last message forever.
    for pid in $(stepds); do
        kill -9 "$pid" 2>/dev/null
    done
}

finish() {
    local status=$?
    stop_daemons
    if [ "$status" = 0 ]; then
        rm -rf "$w"
    else
        logs
        say "kept $w for inspection"
    fi
}
trap finish EXIT
trap 'exit 130' INT TERM

fail() {
    say "FAILED: $*"
    exit 1
}

free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
        p=$((p + 1))
    done
    echo "$p"
}

mkdir -p "$w/munge" "$w/ctld" "$w/spool" "$w/log" "$w/exp" "$w/exp2" "$w/elsewhere" "$w/data" "$w/single"
chmod 711 "$w/munge"
if ! mungekey --create --keyfile="$w/munge/key" 2>/dev/null; then
    head -c 1024 /dev/urandom >"$w/munge/key"
fi
chmod 600 "$w/munge/key"
munged --force --key-file="$w/munge/key" --socket="$w/munge/sock" --pid-file="$w/munge/pid" \
    --log-file="$w/log/munged.log" --seed-file="$w/munge/seed" || skip "munged did not start"
for _ in $(seq 50); do
    [ -s "$w/munge/pid" ] && break
    sleep 0.1
done
munged_pid=$(cat "$w/munge/pid" 2>/dev/null)
munge -n -S "$w/munge/sock" | unmunge -S "$w/munge/sock" >/dev/null || skip "munge does not work"

node_line=$(slurmd -C | head -n 1 | sed -E 's/ RealMemory=[0-9]+//')
node=$(echo "$node_line" | sed -E 's/^NodeName=([^ ]+).*/\1/')
[ -n "$node" ] || skip "slurmd -C printed no node line"
ctld_port=$(free_port 16817)
slurmd_port=$(free_port $((ctld_port + 1)))
cat >"$SLURM_CONF" <<EOF
ClusterName=mfci
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$w/munge/sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$w/ctld
SlurmdSpoolDir=$w/spool
SlurmctldPidFile=$w/slurmctld.pid
SlurmdPidFile=$w/slurmd.pid
SlurmctldLogFile=$w/log/slurmctld.log
SlurmdLogFile=$w/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/filetxt
JobCompLoc=$w/jobcomp.txt
KillWait=5
MinJobAge=600
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
cpus=$(echo "$node_line" | sed -E 's/.* CPUs=([0-9]+).*/\1/')

(cd "$w" && exec slurmctld -D -c >"$w/log/slurmctld.stdout" 2>&1) &
ctld_pid=$!
up=0
for _ in $(seq 60); do
    scontrol ping 2>/dev/null | grep -q UP && { up=1; break; }
    kill -0 "$ctld_pid" 2>/dev/null || break
    sleep 0.5
done
[ "$up" = 1 ] || { logs; skip "slurmctld did not come up (logs above)"; }
(cd "$w" && exec slurmd -D -N "$node" >"$w/log/slurmd.stdout" 2>&1) &
slurmd_pid=$!
up=0
for _ in $(seq 60); do
    sinfo -h -N -o %T 2>/dev/null | grep -q idle && { up=1; break; }
    kill -0 "$slurmd_pid" 2>/dev/null || break
    sleep 0.5
done
[ "$up" = 1 ] || { logs; skip "slurmd did not register its node as idle (logs above)"; }
say "cluster up: node $node with $cpus CPUs, slurmctld port $ctld_port, in $w"
cluster_up=$(date +%s)

# 3. The spec (generated data, 18 validation jobs of about a second each) and the single-process reference.
cat >"$w/spec.toml" <<'EOF'
datasets = ["synthetic-control"]
models = ["mf-esn"]
draws = 5
trials = 2
n_units = 400
seed = 7
[grid.mf-esn]
rho = [0.8, 0.9, 0.95]
dt = [0.1, 0.01, 0.001]
gamma = [0.5, 0.9]
EOF
cp "$w/spec.toml" "$w/exp/spec.toml"
cp "$w/spec.toml" "$w/exp2/spec.toml"
(cd "$w/single" && "$mf" sweep ../spec.toml --results results -j "$cpus" >/dev/null 2>"$w/log/single.stderr") \
    || fail "the single-process sweep failed: $(tail -n 5 "$w/log/single.stderr")"
(cd "$w/single" && "$mf" table ../spec.toml --results results >"$w/table-single.md") || fail "mf table (single) failed"
single_store=$(ls "$w"/single/results/*/store.jsonl)

# Waits until no job of the cluster is pending or running; fails after $1 seconds.
wait_idle() {
    local deadline=$(($(date +%s) + $1))
    while [ -n "$(timeout 20 squeue -h 2>/dev/null)" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { squeue >&2; fail "jobs still queued after $1 s"; }
        sleep 1
    done
}

# The state of the last finished job named $1, from the job completion file.
last_state() {
    grep " Name=$1 " "$w/jobcomp.txt" 2>/dev/null | tail -n 1 | sed -E 's/.* JobState=([A-Z_]+).*/\1/'
}

# Record lines without their checksum, wall time and storing time, sorted: key, parameters, seeds, scores,
# fingerprint. Session lines (who computed the records, and when) differ between runs and are left out.
records() {
    tail -n +2 "$1" | grep -v '"record":{"session":' \
        | sed -E 's/^\{"sha256":"[0-9a-f]{64}","record"://; s/"wall_s":[^,}]*,?//; s/,?"at":[0-9]+//' | sort
}

# A table from `mf table` without its provenance paragraph (everything up to the first blank line), which names
# the sessions that computed the records and so differs between a sharded and a single run.
table_body() {
    sed '1,/^$/d' "$1"
}

# Checks the table and the records of results directory $1 against the single-process run.
check_results() {
    local dir=$1 what=$2
    (cd "$dir" && "$mf" table spec.toml --results results >"$dir/table.md") || fail "$what: mf table failed"
    cmp -s <(table_body "$w/table-single.md") <(table_body "$dir/table.md") \
        || { diff "$w/table-single.md" "$dir/table.md" >&2; fail "$what: the table differs from the single run's"; }
    local store
    store=$(ls "$dir"/results/*/store.jsonl)
    diff <(records "$single_store") <(records "$store") >&2 \
        || fail "$what: the records differ from the single run's (diff above)"
    # Each merged validation line is, byte for byte, a line of a shard store.
    local copied
    copied=$(grep '"stage":"validation"' "$store" | grep -c -v -x -F -f <(cat "$dir"/results/*/shard-*.jsonl))
    [ "$copied" = 0 ] || fail "$what: $copied merged record lines are not byte-identical to their shard's"
    say "$what: table byte-identical to the single run (provenance aside), $(grep -c '"record":{"job":' "$store") records equal"
}

# A. One sbatch, from another directory, runs the whole spec.
(cd "$w/exp" && "$mf" --data-dir ../data slurm spec.toml --shards 3 --out job.sh 2>/dev/null) \
    || fail "mf slurm --out job.sh failed"
grep -q -- "--data-dir $w/data" "$w/exp/job.sh" || fail "the script lost --data-dir"
grep -q -- "^#SBATCH --chdir=$w/exp$" "$w/exp/job.sh" || fail "the script has no #SBATCH --chdir"
(cd "$w/elsewhere" && sbatch --parsable "$w/exp/job.sh" >"$w/jobid-a") || fail "sbatch job.sh failed"
say "A: submitted array job $(cat "$w/jobid-a") from $w/elsewhere"
wait_idle 300
[ "$(last_state mf-sweep-final)" = COMPLETED ] || fail "A: stage 2 did not complete ($(last_state mf-sweep-final))"
check_results "$w/exp" "A (sbatch job.sh)"
a_done=$(date +%s)

# B. `mf slurm --submit`; shard 1 cancelled after its first record; stage 2 fails; --resubmit completes it.
(cd "$w/exp2" && "$mf" slurm spec.toml --shards 3 --submit >"$w/jobid-b" 2>"$w/log/submit-b.stderr") \
    || fail "mf slurm --submit failed: $(cat "$w/log/submit-b.stderr")"
job=$(cat "$w/jobid-b")
deadline=$(($(date +%s) + 120))
while :; do
    shard1=$(ls "$w"/exp2/results/*/shard-1-of-3.jsonl 2>/dev/null | head -n 1)
    [ -n "$shard1" ] && [ "$(grep -c '"record":{"job":' "$shard1")" -ge 1 ] && break
    [ "$(date +%s)" -lt "$deadline" ] || fail "B: shard 1 stored nothing within 120 s"
    sleep 0.05
done
scancel "${job}_1" || fail "B: scancel ${job}_1 failed"
say "B: cancelled task ${job}_1 after its first record"
wait_idle 300
lines=$(grep -c '"record":{"job":' "$shard1")
[ "$lines" -lt 6 ] || fail "B: shard 1 finished all 6 jobs before it was cancelled; make its jobs longer"
[ "$(last_state mf-sweep-final)" = FAILED ] || fail "B: stage 2 should fail on the incomplete shard 1"
final_log=$(ls -t "$w"/exp2/mf-sweep-final-*.out | head -n 1)
grep -q "shard 1/3: .* validation jobs missing" "$final_log" || fail "B: stage 2 did not name shard 1 ($final_log)"
(cd "$w/exp2" && "$mf" slurm spec.toml --shards 3 --resubmit >"$w/jobid-b2" 2>"$w/log/resubmit-b.stderr") \
    || fail "mf slurm --resubmit failed: $(cat "$w/log/resubmit-b.stderr")"
grep -q "^shard 1/3:" "$w/log/resubmit-b.stderr" || fail "B: --resubmit did not resubmit shard 1 alone"
say "B: resubmitted shard 1 as job $(cat "$w/jobid-b2")"
wait_idle 300
[ "$(last_state mf-sweep-final)" = COMPLETED ] || fail "B: stage 2 after the resubmission did not complete"
check_results "$w/exp2" "B (cancelled, resubmitted)"

ended=$(date +%s)
say "PASSED in $((ended - started)) s: install $((installed - started)) s, cluster start $((cluster_up - installed)) s," \
    "single run and A $((a_done - cluster_up)) s, B $((ended - a_done)) s"
