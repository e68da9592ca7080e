#!/usr/bin/env bash
# Polysock benchmark: builds ours and the peers in release, installs the Node
# peers, and runs the same workloads against each, writing
# bench/results/latest.md (and latest.json).
#
#   bash bench/run.sh                 full comparison (~13 min; --rounds 3 ~40 min),
#                                     with the cross-node fan-out rows (issue 15: three
#                                     nodes on a redis-server the harness starts on a free
#                                     port and stops after each run; needs Debian's
#                                     redis-server, else those rows read "skipped")
#   bash bench/run.sh --quick         quick comparison (~2.5 min once built; no cross-node rows)
#   bash bench/run.sh --workloads fanout-cluster-flat-32-3000,fanout-cluster-rate-32-3000 \
#                     --out bench/results/cluster.md
#                                     the cross-node fan-out rows alone (~1.5 min)
#   bash bench/run.sh --compress      gzip/deflate savings and CPU on realistic JSON
#                                     -> bench/results/compression.md
#   bash bench/run.sh --scale         scale run: idle websocket + long-polling sessions
#                                     with heartbeats, ramped until something gives
#                                     -> bench/results/scale.md
# Extra flags go to `polybench run` / `polybench scale`
# (e.g. --servers ours,engineioxide  --workloads ws-echo  --no-pin).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Tens of thousands of sockets: raise the fd limit for the generator and every
# server it starts (children inherit it). As root the hard limit can be raised.
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mode=run
args=()
for a in "$@"; do
  case "$a" in
    --scale) mode=scale ;;
    --compress) mode=compress ;;
    *) args+=("$a") ;;
  esac
done

echo "== building polysock echo example (release)" >&2
if ! cargo build --release --example echo >&2; then
  echo "WARNING: polysock's echo example does not build; its rows will read 'not built'" >&2
  rm -f "$ROOT/target/release/examples/echo"
fi

echo "== building bench workspace (release)" >&2
cargo build --release --manifest-path bench/Cargo.toml >&2

echo "== installing Node peers (bench/node)" >&2
if [ ! -d bench/node/node_modules ] || [ bench/node/package-lock.json -nt bench/node/node_modules/.package-lock.json ]; then
  (cd bench/node && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "WARNING: redis-server not found (apt-get install redis-server); the cross-node fan-out rows will be skipped" >&2
fi

echo "== fd limit $(ulimit -n)" >&2
if [ "$mode" = compress ]; then
  exec bench/target/release/polybench compress --out bench/results/compression.md "${args[@]+"${args[@]}"}"
elif [ "$mode" = scale ]; then
  exec bench/target/release/polybench scale --out bench/results/scale.md "${args[@]+"${args[@]}"}"
else
  exec bench/target/release/polybench run --command "bash bench/run.sh${*:+ $*}" "${args[@]+"${args[@]}"}"
fi
