#!/usr/bin/env bash
# An arm64 Node.js for running the linux-arm64-gnu addon under qemu-user
# (tests/packages/install.test.mjs): Debian's own arm64 `nodejs` and the
# libraries it loads, fetched as .debs with apt and unpacked into
# target/tools/arm64-node/root — nothing arm64 is installed on the machine
# (only apt learns the arm64 package lists). Run it as
#   qemu-aarch64-static -L target/tools/arm64-node/root target/tools/arm64-node/root/usr/bin/nodejs …
# Debian 12's nodejs is 18.x: enough to load the addon (N-API 9) and run the vectors.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=target/tools/arm64-node/root
[ -x "$ROOT/usr/bin/nodejs" ] && exit 0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-cache show nodejs:arm64 >/dev/null 2>&1 || apt-get update -qq
# nodejs and its shared libraries (arm64), and the JS it loads from /usr/share (arch: all).
libs=$(apt-cache depends nodejs:arm64 libnode108:arm64 | awk '/Depends: [a-z0-9.+-]+:arm64$/ {print $2}' | sort -u)
debs=$(mktemp -d)
chmod 777 "$debs" # apt downloads as the _apt user
(cd "$debs" && apt-get download -qq nodejs:arm64 $libs libgcc-s1:arm64 node-cjs-module-lexer node-acorn node-undici)
mkdir -p "$ROOT"
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$ROOT"; done
rm -rf "$debs"
qemu-aarch64-static -L "$ROOT" "$ROOT/usr/bin/nodejs" -e 'console.log(`arm64 Node ${process.version} (N-API ${process.versions.napi}) ready under qemu-user`)'
