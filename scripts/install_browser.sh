#!/usr/bin/env bash
# Install what the tests marked `browser` need: Debian's headless Chromium and its chromedriver
# (/usr/bin/chromium, /usr/bin/chromedriver). Selenium is given both paths, so no browser is ever
# downloaded at test time; selenium itself comes with `pip install -e ".[dev]"`.
#
# Idempotent and quiet: does nothing when both are installed. Needs root (or sudo) and apt-get.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install_browser.sh: run as root (apt-get install chromium chromium-driver)" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
echo "[install_browser] $(/usr/bin/chromium --version 2>/dev/null), $(/usr/bin/chromedriver --version | cut -d' ' -f1-2)"
