# Sourced by the check scripts: starts `$1` (a missive binary) on a free
# loopback port with a fresh SQLite database, storage and a random JWT
# secret in a temporary directory, rate limits off, and waits until it is
# ready. Sets `work` (the directory), `base` (http://127.0.0.1:PORT) and
# `server` (its pid); on exit the server stops and the directory goes.
# Prints the server's log if it does not become ready.
start_throwaway_server() {
  local binary=$1 port
  work=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  MISSIVE__SERVER__BIND="127.0.0.1:$port" \
  MISSIVE__DATABASE__URL="sqlite://$work/missive.db?mode=rwc" \
  MISSIVE__STORAGE__DIR="$work/storage" \
  MISSIVE__AUTH__JWT_SECRET="$(head -c 36 /dev/urandom | base64)" \
  MISSIVE__RATE_LIMIT__ENABLED=false \
  RUST_LOG=warn \
    "$binary" > "$work/server.log" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
  base="http://127.0.0.1:$port"
  for _ in $(seq 300); do
    curl -fs "$base/health/ready" >/dev/null && return 0
    sleep 0.1
  done
  echo "the server did not become ready; its log:" >&2
  cat "$work/server.log" >&2
  return 1
}
