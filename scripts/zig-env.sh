# Sourced by build-packages.sh and build-runner.sh: puts zig (the Python
# index's `ziglang`) and cargo-zigbuild (crates.io) on PATH, installing the
# pinned versions once, and adds the Rust targets asked for. Only registries.
ZIGLANG_VERSION=0.15.2
ZIGBUILD_VERSION=0.24.1

zig_env() { # zig_env TARGET...
  local venv=target/tools/zig
  if ! command -v zig >/dev/null; then
    if ! python3 -c "import ziglang" 2>/dev/null && [ ! -x "$venv/bin/python" ]; then
      # A venv of our own: Debian's python refuses system-wide pip installs (PEP 668).
      printf '\033[1mzig:\033[0m installing ziglang==%s (pip, into %s)\n' "$ZIGLANG_VERSION" "$venv" >&2
      python3 -m venv "$venv"
      "$venv/bin/python" -m pip install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION"
    fi
    local py=python3
    [ -x "$venv/bin/python" ] && py=$venv/bin/python
    PATH="$("$py" -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))'):$PATH"
    export PATH
  fi
  if [ "$(cargo-zigbuild --version 2>/dev/null | awk '{print $2}')" != "$ZIGBUILD_VERSION" ]; then
    printf '\033[1mzig:\033[0m installing cargo-zigbuild %s (once, ~1 min)\n' "$ZIGBUILD_VERSION" >&2
    cargo install -q --locked cargo-zigbuild --version "$ZIGBUILD_VERSION"
  fi
  local installed t
  installed=$(rustup target list --installed)
  for t in "$@"; do
    grep -qx "$t" <<<"$installed" || { printf '\033[1mzig:\033[0m adding rust target %s\n' "$t" >&2; rustup target add "$t"; }
  done
}
