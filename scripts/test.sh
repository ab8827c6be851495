#!/usr/bin/env bash
# The whole test suite with all of its set-up: headless Chromium (Debian's package) for the
# explain page's browser test, the test extra (pytest, hypothesis, PyTorch 2.13 as a reference,
# the optional extras, Playwright), then pytest. Arguments are passed on to pytest.
set -eu
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
python -m pip install -e '.[test]'
exec python -m pytest "$@"
