# netns_lib.sh — MPI ranks on a private network of Linux network namespaces, so that their
# traffic crosses a real network stack (issue 16; tests/cli/test_shards_netns.sh,
# bench/shards_netns.sh). Needs root and iproute2's `ip`.
#
# The network: a "head" namespace holding two bridges (switches) and one namespace per rank
# joined to each bridge by a veth pair, as a cluster's nodes are to its data network and to its
# management network: the ranks' MPI traffic crosses the data links (eth0, subnet 10.211.0.0/24,
# rank K at .K+1) and nothing else does, so their byte counters count it; Open MPI's runtime
# (mpirun in the head namespace, at .254, and its daemons) uses the control links (eth1,
# 10.211.1.0/24). IPv6 is off, and there is no route anywhere else. No interface of the
# machine's own namespace takes part, so no packet of it leaves the machine or reaches the
# machine's own network.
#
# How Open MPI 4.1 is launched on it: as on a cluster, mpirun runs in the head namespace and
# starts one daemon (orted) per rank namespace through plm_rsh_agent, a script that does
# `ip netns exec NS unshare --uts sh -c CMD` where ssh would log in to host NS and run CMD. The
# hostfile's names are the namespaces' names, so Open MPI names its nodes after them; and each
# daemon gets that name as its host name (a UTS namespace of its own), because Open MPI keys its
# session directory (ompi.HOST.UID, under orte_tmpdir_base: a folder of the caller's here) by host
# name: daemons sharing one name share one directory and break each other's start (session
# directory errors, PMIx dstore errors, a crash writing the shared hwloc topology; mpirun then
# waits forever for the daemon, hence the timeout). Each daemon runs the PMIx server of its ranks
# on the loopback of its own namespace (PMIx 4 has no other local channel), which is why a rank
# cannot simply be started by `mpirun ... ip netns exec NS prog`: its MPI_Init would fail
# ("Unreachable", ext3x_client.c) to reach mpirun's PMIx server on the machine's loopback. The
# daemons reach mpirun on the control subnet (oob_tcp_if_include), and the ranks each other
# through the tcp BTL on the data subnet only (btl tcp,self; btl_tcp_if_include). Each "node"
# has one slot and one rank, so Open MPI would let a rank that waits spin without yielding (it
# yields by itself only on a node it knows to be oversubscribed), taking the cores the ranks
# share from the others: mpi_yield_when_idle says so.
#
#   netns_up DIR RANKS   makes the network (namespaces named fsnet<PID>-..., files in DIR);
#                        returns 1 with $netns_why set when this machine cannot (not root, no
#                        `ip`, no network namespaces, veth pairs or bridges), 2 when a later step
#                        fails (the message on stderr)
#   netns_down           removes everything netns_up made, and ends the processes left in it
#                        (the daemons of a killed mpirun): call it from an EXIT trap
#   netns_pids           the processes in the namespaces, one a line
#   netns_mpirun ARGS    mpirun in the head namespace, one rank per rank namespace, at most
#                        NETNS_TIMEOUT seconds (default 600)
#   netns_bytes K        "RX TX": the bytes rank K's data link received and sent so far
#   netns_reap_stale     removes the namespaces of earlier runs whose process is gone (a test
#                        killed with SIGKILL could not run its trap)

netns_data=10.211.0       # the ranks' MPI traffic (eth0 of each rank)
netns_control=10.211.1    # Open MPI's runtime: mpirun and its daemons (eth1)
netns_prefix=fsnet$$
netns_head=""
netns_ranks=()
netns_made=()
netns_why=""
netns_err=""
netns_dir=""

netns_reap_stale() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | sed -nE 's/^(fsnet[0-9]+-[a-z0-9]+).*/\1/p'); do
    pid=${ns#fsnet}
    pid=${pid%%-*}
    [[ $pid == "$$" ]] && continue
    kill -0 "$pid" 2>/dev/null && continue
    netns_kill "$ns"
    ip netns del "$ns" 2>/dev/null
  done
}

# netns_kill NS: ends every process in namespace NS
netns_kill() {
  local pids
  pids=$(ip netns pids "$1" 2>/dev/null)
  [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
  return 0
}

netns_down() {
  local ns w
  for ns in "${netns_made[@]}"; do netns_kill "$ns"; done
  # until they are gone (at most 5 s): a rank still writing its shard would keep its folder
  for ((w = 0; w < 50 && ${#netns_made[@]} > 0; w++)); do
    [[ -z $(netns_pids) ]] && break
    sleep 0.1
  done
  for ns in "${netns_made[@]}"; do ip netns del "$ns" 2>/dev/null; done
  netns_made=()
}

# netns_pids: the processes in the namespaces netns_up made
netns_pids() {
  local ns
  for ns in "${netns_made[@]}"; do ip netns pids "$ns" 2>/dev/null; done
}

# netns_add NS: a new namespace with its loopback up and IPv6 off (the test subnets are the only way out)
netns_add() {
  local why
  why=$(ip netns add "$1" 2>&1) || { netns_err="ip netns add: ${why//$'\n'/ }"; return 1; }
  netns_made+=("$1")
  why=$(ip -n "$1" link set lo up 2>&1) ||
    { netns_err="ip -n NS link set lo up: ${why//$'\n'/ }"; return 1; }
  ip netns exec "$1" sh -c 'for f in all default; do
      p=/proc/sys/net/ipv6/conf/$f/disable_ipv6; [ -e "$p" ] && echo 1 >"$p"; done; true'
}

netns_up() {
  local dir=$1 n=$2 k why
  if [[ $(id -u) != 0 ]]; then netns_why="network namespaces need root"; return 1; fi
  if ! command -v ip >/dev/null; then netns_why="no ip command (iproute2)"; return 1; fi
  netns_reap_stale
  netns_head=$netns_prefix-head
  if ! netns_add "$netns_head"; then
    netns_why="no network namespaces here ($netns_err)"; return 1
  fi
  if ! why=$(ip -n "$netns_head" link add data type bridge 2>&1); then
    netns_why="no bridges here (ip link add type bridge: ${why//$'\n'/ })"; return 1
  fi
  ip -n "$netns_head" link add control type bridge || return 2
  netns_ranks=()
  for ((k = 0; k < n; k++)); do
    local ns=$netns_prefix-r$k
    netns_ranks+=("$ns")
    netns_add "$ns" || { echo "$netns_err" >&2; return 2; }
    # each pair is made in its two namespaces directly: no name of the machine's namespace is taken
    if ! why=$(ip link add eth0 netns "$ns" type veth peer name "d$k" netns "$netns_head" 2>&1); then
      netns_why="no veth pairs here (ip link add type veth: ${why//$'\n'/ })"; return 1
    fi
    ip link add eth1 netns "$ns" type veth peer name "c$k" netns "$netns_head" || return 2
    ip -n "$netns_head" link set "d$k" master data up || return 2
    ip -n "$netns_head" link set "c$k" master control up || return 2
    ip -n "$ns" addr add "$netns_data.$((k + 1))/24" dev eth0 || return 2
    ip -n "$ns" addr add "$netns_control.$((k + 1))/24" dev eth1 || return 2
    ip -n "$ns" link set eth0 up || return 2
    ip -n "$ns" link set eth1 up || return 2
  done
  ip -n "$netns_head" link set data up || return 2
  ip -n "$netns_head" addr add "$netns_control.254/24" dev control || return 2
  ip -n "$netns_head" link set control up || return 2
  printf '%s slots=1\n' "${netns_ranks[@]}" >"$dir/hostfile" || return 2
  # what `ssh HOST CMD` does (CMD: one string, quoted for a shell, run by a shell on HOST), for
  # namespace HOST: there, in a UTS namespace of its own whose host name is HOST
  cat >"$dir/agent" <<'AGENT' || return 2
#!/bin/sh
host=$1; shift
exec ip netns exec "$host" unshare --uts sh -c 'echo "$0" >/proc/sys/kernel/hostname && exec sh -c "$1"' "$host" "$*"
AGENT
  chmod +x "$dir/agent" || return 2
  mkdir -p "$dir/ompi" || return 2
  netns_dir=$dir
}

netns_mpirun() {
  timeout -k 10 "${NETNS_TIMEOUT:-600}" ip netns exec "$netns_head" \
    mpirun -q --hostfile "$netns_dir/hostfile" --mca plm_rsh_agent "$netns_dir/agent" \
    --mca plm_rsh_no_tree_spawn 1 --mca orte_tmpdir_base "$netns_dir/ompi" \
    --mca oob_tcp_if_include "$netns_control.0/24" --mca mpi_yield_when_idle 1 \
    --mca btl tcp,self --mca btl_tcp_if_include "$netns_data.0/24" -np "${#netns_ranks[@]}" "$@"
}

netns_bytes() {
  local s=/sys/class/net/eth0/statistics
  ip netns exec "${netns_ranks[$1]}" sh -c "echo \$(cat $s/rx_bytes) \$(cat $s/tx_bytes)"
}
