#!/usr/bin/env bash
# Idempotent set-up of a development / CI machine for realtime_nb.
#
# Needs: Python >= 3.10 (3.11 tested) with venv, Node 20 + npm, and apt (Debian) for Chromium
# and espeak-ng (the embedded server's voice).
#
#   bash scripts/setup.sh               # venv + package + front end + Chromium + Lab settings
#   bash scripts/setup.sh --no-browser  # the same without Chromium (enough for the demo)
#   bash scripts/setup.sh --force       # reinstall the Python package even if up to date
#   bash scripts/setup.sh --demo [--lab] # only what scripts/demo.sh needs (no test tools, no
#                                        # Chromium; --lab adds JupyterLab), quietly: the
#                                        # tools' output goes to .venv/setup.log
#
# Safe to run again: every step checks whether it is already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WITH_BROWSER=1
FORCE=0
DEMO=0
DEMO_LAB=0
for arg in "$@"; do
    case "$arg" in
        --no-browser) WITH_BROWSER=0 ;;
        --demo) DEMO=1 WITH_BROWSER=0 ;;
        --lab) DEMO_LAB=1 ;;
        --force) FORCE=1 ;;
        -h | --help)
            sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "setup.sh: unknown option: $arg" >&2
            exit 2
            ;;
    esac
done

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
VPY="$VENV/bin/python"

LOG="$VENV/setup.log"
# --demo: the steps and the tools' chatter go to $LOG; a failing step shows its end.
say() { if ((DEMO)); then mkdir -p "$VENV" && printf '[setup] %s\n' "$*" >>"$LOG"; else printf '[setup] %s\n' "$*"; fi; }
run() {
    if ((DEMO)); then
        "$@" >>"$LOG" 2>&1 || { echo "setup.sh: '$*' failed; the end of $LOG:" >&2; tail -25 "$LOG" >&2; exit 1; }
    else
        "$@"
    fi
}

# pip on some machines prints many harmless "Location 'file:///...' is ignored" warnings.
# The filter never fails (|| true), and pipefail keeps pip's own exit status.
quiet_pip() {
    "$VPY" -m pip "$@" 2>&1 | { grep -v -E "^(WARNING: )?Location '.*' is ignored|^Requirement already satisfied" || true; }
}

sha() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# --- 1. virtual environment -------------------------------------------------------------
if [[ ! -x "$VPY" ]]; then
    say "creating virtual environment .venv with $("$PYTHON" --version 2>&1)"
    run "$PYTHON" -m venv "$VENV"
else
    say "virtual environment .venv exists ($("$VPY" --version 2>&1))"
fi

# --- 2. front end (js/) -----------------------------------------------------------------
if [[ -f js/package.json ]]; then
    command -v npm >/dev/null || { echo "setup.sh: npm is required to build js/" >&2; exit 1; }
    if [[ -f js/package-lock.json ]]; then
        lock_hash="$(sha js/package-lock.json)"
        stamp="js/node_modules/.realtime_nb-lock.sha256"
        # --demo installs the build's dependencies only (no test tools): stamped ":build"
        have="$(cat "$stamp" 2>/dev/null || true)"
        if [[ -d js/node_modules && ( "$have" == "$lock_hash" || ( $DEMO -eq 1 && "$have" == "$lock_hash:build" ) ) ]]; then
            say "js/node_modules is up to date with js/package-lock.json"
        elif ((DEMO)); then
            say "npm ci --omit=dev in js/"
            run bash -c "cd js && npm ci --no-audit --no-fund --omit=dev"
            echo "$lock_hash:build" >"$stamp"
        else
            say "npm ci in js/"
            (cd js && npm ci --no-audit --no-fund)
            echo "$lock_hash" >"$stamp"
        fi
    else
        say "js/package-lock.json missing: npm install in js/ (creates the lock file)"
        (cd js && npm install --no-audit --no-fund)
    fi
    # Rebuild only when a source is newer than the bundle: rewriting the bundle while a
    # JupyterLab page (another test run on this work tree) loads it gives a broken page.
    bundle="realtime_nb/static/widget.js"
    newer=""
    if [[ -f "$bundle" ]]; then
        newer="$(find js -path js/node_modules -prune -o -type f -newer "$bundle" -print -quit)"
    fi
    if [[ -f "$bundle" && -z "$newer" ]]; then
        say "front-end bundle $bundle is up to date"
    else
        say "npm run build in js/${newer:+ ($newer changed)}"
        run bash -c "cd js && npm run build"
    fi
else
    say "no js/package.json yet: skipping the front-end build"
fi

# --- 3. the Python package (editable) with the test and lab extras ----------------------
# The stamp covers pyproject.toml and the build hook: when neither changed and the package
# is installed, pip has nothing to do (the editable install picks up code changes itself).
pkg_hash="$(sha pyproject.toml scripts/hatch_build.py)"
pkg_stamp="$VENV/.realtime_nb-install.sha256"
extras="test,lab"  # --demo: none (the console demo), or lab; a full install covers them
((DEMO)) && { ((DEMO_LAB)) && extras="lab" || extras=""; }
have="$(cat "$pkg_stamp" 2>/dev/null || true)"
if [[ $FORCE -eq 0 && ( "$have" == "$pkg_hash" || ( $DEMO -eq 1 && ( "$have" == "$pkg_hash:$extras" || "$have" == "$pkg_hash:lab" ) ) ) ]] \
    && "$VPY" -m pip show -q realtime-nb >/dev/null 2>&1; then
    say "realtime-nb[$extras] is installed and pyproject.toml is unchanged"
else
    say "pip install -e .${extras:+[$extras]}"
    # The bundle was just built above; tell the hatch hook not to build it twice.
    REALTIME_NB_SKIP_JS=1 run quiet_pip install -e ".${extras:+[$extras]}"
    if ((DEMO)); then echo "$pkg_hash:$extras" >"$pkg_stamp"; else echo "$pkg_hash" >"$pkg_stamp"; fi
fi

# --- 4. JupyterLab settings: no news / update pop-up ------------------------------------
overrides="$VENV/share/jupyter/lab/settings/overrides.json"
want='{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}'
if [[ -f "$overrides" ]] && [[ "$(cat "$overrides")" == "$want" ]]; then
    say "JupyterLab overrides.json already disables the news pop-up"
else
    say "writing $overrides"
    mkdir -p "$(dirname "$overrides")"
    printf '%s\n' "$want" >"$overrides"
fi

# --- 5. Chromium for the browser tests (Debian package; never 'playwright install') -----
if [[ $WITH_BROWSER -eq 1 ]]; then
    if [[ -x /usr/bin/chromium ]]; then
        say "Chromium present: /usr/bin/chromium"
    else
        SUDO=""
        if [[ $(id -u) -ne 0 ]]; then
            if command -v sudo >/dev/null; then
                SUDO="sudo"
            else
                echo "setup.sh: /usr/bin/chromium is missing and this is neither root nor sudo;" \
                    "install the Debian 'chromium' package or use --no-browser" >&2
                exit 1
            fi
        fi
        say "installing Debian chromium with apt-get"
        $SUDO apt-get update
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
    fi
else
    say "--no-browser: skipping Chromium"
fi

# --- 6. espeak-ng: the embedded server's voice (without it, a deterministic tone voice) --
if ((DEMO)); then
    say "--demo: skipping espeak-ng (the demo is text)"
elif command -v espeak-ng >/dev/null; then
    say "espeak-ng present: $(command -v espeak-ng)"
else
    SUDO=""
    [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && SUDO="sudo"
    if [[ $(id -u) -eq 0 || -n "$SUDO" ]] && command -v apt-get >/dev/null; then
        say "installing Debian espeak-ng with apt-get"
        $SUDO apt-get update
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y espeak-ng
    else
        say "espeak-ng missing and cannot be installed here: the embedded server speaks" \
            "with its tone voice"
    fi
fi

say "done"
