#!/bin/sh
# Runs the TLS interop peer PEER (node: node/tls_peer.js, python: python/tls_peer.py) against a
# server started here with throwaway certificates (tests/support/make_certs.sh):
#
#   tls_peers.sh node|python SERVER [ARGS...]
#
# The server is started as `SERVER ARGS... --port 0 --max-seconds 90 --tls-cert server.pem
# --tls-key server.key` and must print "LISTENING <port>" when ready; TLS_CERT_FLAG / TLS_KEY_FLAG
# rename the two flags (tests/client/tls_server.js takes --cert / --key). The peer connects to
# https://localhost:<port> trusting ca.pem, and checks that other-ca.pem is refused. NODE
# (default node) runs node peers and .js servers; python peers run with /usr/bin/python3.
# The server is killed by its pid; the certificates are removed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
peer=${1:?usage: tls_peers.sh node|python SERVER [ARGS...]}
shift
[ $# -ge 1 ] || { echo "usage: tls_peers.sh node|python SERVER [ARGS...]" >&2; exit 2; }
node=${NODE:-node}
dir=$(mktemp -d "${TMPDIR:-/tmp}/portico-tls-peers-XXXXXX")
spid=
cleanup() {
  if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
sh "$here/../support/make_certs.sh" "$dir"
case "$1" in *.js) set -- "$node" "$@" ;; esac
"$@" --port 0 --max-seconds 90 "${TLS_CERT_FLAG:---tls-cert}" "$dir/server.pem" "${TLS_KEY_FLAG:---tls-key}" "$dir/server.key" \
  > "$dir/server.out" 2> "$dir/server.err" &
spid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^LISTENING \([0-9]*\).*/\1/p' "$dir/server.out" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$spid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { echo "server did not print LISTENING:" >&2; cat "$dir/server.err" >&2; exit 1; }
url="https://localhost:$port"
case "$peer" in
  node) "$node" "$here/node/tls_peer.js" "$url" "$dir/ca.pem" --other-ca "$dir/other-ca.pem" ;;
  python) /usr/bin/python3 -W ignore::ResourceWarning "$here/python/tls_peer.py" "$url" "$dir/ca.pem" --other-ca "$dir/other-ca.pem" ;;
  *) echo "unknown peer $peer (node or python)" >&2; exit 2 ;;
esac
