#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, pg_ctl) exist for the test suite.
# Starts nothing: the tests run their own private cluster (tests/support/postgres_server.py).
set -euo pipefail
# --- Document clients (LibreOffice headless, poppler) and PDF rendering libraries -------------
# The document tests print spreadsheets with LibreOffice and read PDFs with pdftotext/pdfinfo;
# weasyprint renders letters with pango. Self-contained: installs only what is missing.
(
  missing=()
  command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-calc-nogui)
  command -v pdftotext >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1 \
    || missing+=(poppler-utils)
  libs=$(ldconfig -p 2>/dev/null || true)
  [[ $libs == *libpango-1.0.so* ]] || missing+=(libpango-1.0-0)
  [[ $libs == *libpangoft2-1.0.so* ]] || missing+=(libpangoft2-1.0-0)
  # HarfBuzz's subsetter makes weasyprint ten times faster than its fontTools fallback.
  [[ $libs == *libharfbuzz-subset.so* ]] || missing+=(libharfbuzz-subset0)
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
  if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "services.sh: missing ${missing[*]} (Debian: sudo apt-get install ${missing[*]});" \
         "the document tests will be skipped (they fail under CI)." >&2
    exit 0
  fi
  echo "services.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" </dev/null >/dev/null
)
# --- end of document clients ---------------------------------------------------------------

# Chromium for the browser test (tests/e2e/test_console_browser.py): Debian's package, never a
# browser download. Placed before the PostgreSQL part, which exits early when that is installed.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services.sh: installing Chromium (apt-get install chromium)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null >/dev/null
  else
    echo "services.sh: /usr/bin/chromium not found; the browser test will be skipped." >&2
  fi
fi

have_server_binaries() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    return 0
  fi
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      return 0
    fi
  done
  return 1
}

if have_server_binaries; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "services.sh: PostgreSQL server binaries (initdb, pg_ctl) not found on PATH nor in" \
       "/usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: sudo apt-get install postgresql;" \
       "macOS: brew install postgresql) or run this script as root." >&2
  if [ -n "${CI:-}" ]; then
    echo "services.sh: CI is set, so the PostgreSQL tests would fail; stopping here." >&2
    exit 1
  fi
  echo "services.sh: the PostgreSQL tests will be skipped." >&2
  exit 0
fi

echo "services.sh: installing PostgreSQL server binaries (apt-get install postgresql)" >&2
# Debian starts freshly installed services unless policy-rc.d says no (exit 101 = "not allowed").
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql </dev/null >/dev/null

if ! have_server_binaries; then
  echo "services.sh: apt-get installed postgresql but initdb/pg_ctl are still missing" >&2
  exit 1
fi

