#!/usr/bin/env bash
# Makes docs/discovery.png: the discovery curves of two sim runs of one topic, a capable model
# (sim:default) against a weak one (sim:weak), drawn by `igentai stats --plot` (needs the plot
# extra: pip install -e '.[plot]'). Run from the repository's top: bash docs/pictures.sh
set -euo pipefail
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for model in default weak; do
    igentai --headless "Paris attractions" --providers "sim:$model" --seed 1 \
        --db "$tmp/pics.db" -o "$tmp/$model.txt" > /dev/null 2> "$tmp/$model.log"
done
mapfile -t runs < <(igentai runs --db "$tmp/pics.db" --json |
    python3 -c 'import json, sys; print(*(r["id"] for r in json.load(sys.stdin)), sep="\n")')
igentai stats "${runs[@]}" --db "$tmp/pics.db" --plot docs/discovery.png
igentai stats "${runs[@]}" --db "$tmp/pics.db" --plot --axis tokens > docs/discovery.txt
