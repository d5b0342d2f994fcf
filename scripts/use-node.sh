# Put a supported Node.js first on PATH, for this shell.
#
#   source scripts/use-node.sh          # Node 24 LTS unless the machine's node is already a supported one (22.22+, 24.11+, 25+)
#   source scripts/use-node.sh 22.22.0  # exactly this version (CI uses it to test the supported minimum)
#
# When the machine's Node is older (or a version was asked for), the official Linux binary is taken from
# the npm registry package `node-linux-<arch>` (it ships the real `bin/node`; the machine's `npm` runs on
# it) into `.cache/node/<version>/`, which git ignores. No other download. A second call finds the cache.
# Needs: npm and tar on PATH. Fails (return 1) with a message when the registry cannot serve it.

_wp_use_node() {
  local root want arch spec dir tgz
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  want=${1:-}
  if [ -z "$want" ] && command -v node >/dev/null 2>&1 \
    && node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a >= 25 || (a === 24 && b >= 11) || (a === 22 && b >= 22) ? 0 : 1)'; then
    return 0
  fi
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "use-node: no node-linux package for $(uname -m); install Node 24 yourself" >&2; return 1 ;;
  esac
  spec=${want:-24}
  dir="$root/.cache/node/$spec"
  if [ ! -x "$dir/bin/node" ]; then
    echo "use-node: fetching node-linux-$arch@$spec from the npm registry into .cache/node/$spec" >&2
    mkdir -p "$dir.tmp" || return 1
    tgz=$(cd "$dir.tmp" && npm pack --silent "node-linux-$arch@$spec" 2>/dev/null | tail -n 1)
    if [ -z "$tgz" ] || ! tar -xzf "$dir.tmp/$tgz" -C "$dir.tmp" --strip-components=1 package/bin/node; then
      echo "use-node: could not get node-linux-$arch@$spec from the npm registry" >&2
      rm -rf "$dir.tmp"
      return 1
    fi
    rm -f "$dir.tmp/$tgz"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  PATH="$dir/bin:$PATH"
  export PATH
  hash -r
  echo "use-node: node $(node --version) from .cache/node/$spec" >&2
}
_wp_use_node "$@"
