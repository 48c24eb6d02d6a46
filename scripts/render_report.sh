#!/usr/bin/env bash
# Converts every SVG chart of a `shears report` output directory (DIR/figures/*.svg) to PNG beside it with
# rsvg-convert (Debian: librsvg2-bin), so the charts can be looked at as images. Exits non-zero when DIR has no
# figures or when any conversion fails (each failure is named).
set -u
dir=${1:?usage: scripts/render_report.sh REPORT_DIR}
command -v rsvg-convert >/dev/null || { echo "rsvg-convert not found: apt-get install librsvg2-bin" >&2; exit 2; }
shopt -s nullglob
svgs=("$dir"/figures/*.svg)
[ ${#svgs[@]} -gt 0 ] || { echo "$dir/figures: no SVG files (is $dir the --out of shears report?)" >&2; exit 1; }
failed=0
for svg in "${svgs[@]}"; do
    png=${svg%.svg}.png
    if ! rsvg-convert --background-color=white -o "$png" "$svg"; then
        echo "FAILED: $svg" >&2
        failed=$((failed + 1))
    fi
done
echo "$(( ${#svgs[@]} - failed )) of ${#svgs[@]} SVG files converted to PNG in $dir/figures"
[ "$failed" -eq 0 ]
