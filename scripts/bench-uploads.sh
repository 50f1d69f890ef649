#!/usr/bin/env bash
# Upload and download throughput on loopback against a release server
# (local storage): 16 MiB and 256 MiB files of random bytes, three runs
# each, then the server's peak RSS. Results: BENCHMARKS.md, "Uploads".
#
#   scripts/bench-uploads.sh [path/to/missive]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/missive}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MISSIVE__SERVER__BIND="127.0.0.1:$port" MISSIVE__DATABASE__URL="sqlite://$work/b.db?mode=rwc" \
MISSIVE__STORAGE__DIR="$work/storage" MISSIVE__RATE_LIMIT__ENABLED=false \
MISSIVE__UPLOADS__MAX_BYTES=2147483648 MISSIVE__UPLOADS__QUOTA_BYTES=17179869184 \
MISSIVE__AUTH__JWT_SECRET="$(head -c 36 /dev/urandom | base64)" RUST_LOG=warn "$bin" > "$work/log" 2>&1 &
pid=$!
trap 'kill $pid; rm -rf $work' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
B="http://127.0.0.1:$port/api/v1"
T=$(curl -s "$B/auth/register" -H 'content-type: application/json' -d '{"email":"b@x.org","password":"correct horse battery","full_name":"B"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
for size in 16 256; do
  f=$work/f$size.png
  python3 -c "
import sys,os
with open('$f','wb') as out:
    out.write(b'\x89PNG\r\n\x1a\n\0\0\0\rIHDR')
    out.write(os.urandom($size*1024*1024-16))"
  for run in 1 2 3; do
    up=$(curl -s -o $work/ans -w '%{time_total}' "$B/uploads?filename=f.png" -H "authorization: Bearer $T" -H 'content-type: application/octet-stream' --data-binary @$f)
    id=$(python3 -c "import json; print(json.load(open('$work/ans'))['id'])")
    down=$(curl -s -o /dev/null -w '%{time_total}' "$B/uploads/$id" -H "authorization: Bearer $T")
    python3 -c "s=$size*1048576/1e6; print(f'$size MiB run $run: upload {s/$up:.0f} MB/s, download {s/$down:.0f} MB/s')"
    # (the same bytes again are stored once: later runs measure hashing and the check)
  done
done
echo "peak RSS: $(grep VmHWM /proc/$pid/status)"
