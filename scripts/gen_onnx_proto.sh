#!/usr/bin/env bash
# Regenerates Sources/ONNXProto/onnx.pb.swift, the swift-protobuf message code for ONNX's onnx.proto, which is
# committed so that builds never run swift-protobuf's build plugin (≈ 10 minutes on 2 cores). Run it by hand
# after changing the pinned versions below; it is not part of the build or of CI.
#
#   bash scripts/gen_onnx_proto.sh
#
# - protoc: Debian's protobuf-compiler (installed here if missing; needs root or sudo).
# - protoc-gen-swift: built from swift-protobuf at SWIFT_PROTOBUF_VERSION, the version Package.swift pins, so
#   the generated code matches the runtime library it is compiled against.
# - onnx.proto: taken from the onnx wheel at ONNX_VERSION (PyPI), which ships it as onnx/onnx.proto.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIFT_PROTOBUF_VERSION=1.39.0
SWIFT_PROTOBUF_URL="${SWIFT_PROTOBUF_URL:-https://github.com/apple/swift-protobuf}"
ONNX_VERSION=1.23.1
WORK="${WORK:-$(mktemp -d)}"
OUT="$ROOT/Sources/ONNXProto"
log() { echo "gen_onnx_proto: $*" >&2; }

if ! command -v protoc >/dev/null; then
    log "installing Debian's protobuf-compiler"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq protobuf-compiler
fi

if [ ! -x "$WORK/swift-protobuf/.build/release/protoc-gen-swift" ]; then
    log "building protoc-gen-swift $SWIFT_PROTOBUF_VERSION in $WORK"
    [ -d "$WORK/swift-protobuf" ] || git clone --quiet --depth 1 --branch "$SWIFT_PROTOBUF_VERSION" "$SWIFT_PROTOBUF_URL" "$WORK/swift-protobuf"
    (cd "$WORK/swift-protobuf" && swift build -c release -j 1 --product protoc-gen-swift)
fi

log "fetching onnx.proto from the onnx $ONNX_VERSION wheel"
python3 -m pip download --quiet --no-deps --only-binary :all: -d "$WORK/wheel" "onnx==$ONNX_VERSION"
python3 - "$WORK" <<'PY'
import glob, sys, zipfile
work = sys.argv[1]
wheel = glob.glob(f"{work}/wheel/onnx-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    open(f"{work}/onnx.proto", "wb").write(z.read("onnx/onnx.proto"))
PY

mkdir -p "$OUT"
# Public visibility: the ShearsNN target reads and writes these messages.
protoc --plugin=protoc-gen-swift="$WORK/swift-protobuf/.build/release/protoc-gen-swift" \
       --swift_opt=Visibility=Public --swift_out="$OUT" -I "$WORK" "$WORK/onnx.proto"
cp "$WORK/onnx.proto" "$OUT/onnx.proto"
log "wrote $OUT/onnx.pb.swift (from onnx $ONNX_VERSION's onnx.proto, swift-protobuf $SWIFT_PROTOBUF_VERSION)"
