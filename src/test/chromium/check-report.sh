#!/usr/bin/env bash
# check-report.sh REPORT_DIR
#
# Opens a report's index.html (written by `slt report ... --out REPORT_DIR`) in headless Chromium
# and checks what a reader would see:
#   1. the DOM after load names every image, and each <img src> exists under REPORT_DIR;
#   2. every image actually loaded in the browser (naturalWidth > 0, natural size printed): a
#      probe page in a temporary directory frames index.html and lists document.images (the
#      report itself has no JavaScript; --allow-file-access-from-files lets the probe read it);
#   3. a full-page screenshot is not blank (decoded with the JDK's ImageIO: many colours, and
#      not almost all white).
# Exit 0 when all hold; otherwise 1 with the failures listed.
#
# Needs Debian's `chromium` (apt-get install -y chromium; or set CHROMIUM=/path/to/chrome) and a
# JDK (java runs a single-file checker). Not part of CI: run it by hand after changing the report.
# Every Chromium run gets a fresh profile in a temporary directory, removed on exit; no network.
set -euo pipefail

if [[ $# -ne 1 || ! -f "$1/index.html" ]]; then
  echo "usage: $0 REPORT_DIR   (a directory holding index.html, written by slt report)" >&2
  exit 2
fi
report="$(cd "$1" && pwd)"
chrome="${CHROMIUM:-chromium}"
command -v "$chrome" >/dev/null || { echo "error: $chrome not found: apt-get install -y chromium, or set CHROMIUM" >&2; exit 2; }
command -v java >/dev/null || { echo "error: java not found: install a JDK (17+)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

browse() { # browse PROFILE_NAME ARGS... : one headless Chromium run with a fresh profile
  local profile="$work/profile-$1"; shift
  "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$profile" --virtual-time-budget=10000 "$@" 2>>"$work/chromium.log"
}

failures=()

# 1. The DOM as loaded: every <img src> is a relative path to an existing file.
browse dom --dump-dom "file://$report/index.html" > "$work/dom.html"
mapfile -t srcs < <(grep -o '<img[^>]*src="[^"]*"' "$work/dom.html" | sed 's/.*src="\([^"]*\)"/\1/' | sort -u)
echo "dom: ${#srcs[@]} images in index.html"
[[ ${#srcs[@]} -gt 0 ]] || failures+=("index.html has no <img>")
for s in "${srcs[@]}"; do
  [[ -f "$report/$s" ]] || failures+=("img src $s: no such file under $report")
done
mapfile -t pngs < <(cd "$report" && find . -name '*.png' | sed 's|^\./||' | sort)
for p in "${pngs[@]}"; do
  printf '%s\n' "${srcs[@]}" | grep -qxF "$p" || failures+=("$p is in the report directory but not shown by index.html")
done

# 2. Each image loaded, as the browser sees it.
cat > "$work/probe.html" <<HTML
<!DOCTYPE html><html><body>
<iframe id="f" src="file://$report/index.html" width="1300" height="900"></iframe>
<pre id="result">pending</pre>
<script>
document.getElementById('f').addEventListener('load', () => {
  const lines = [];
  try {
    for (const img of document.getElementById('f').contentDocument.images) {
      const ok = img.complete && img.naturalWidth > 0;
      lines.push((ok ? 'LOADED ' : 'BROKEN ') + img.getAttribute('src') + ' ' + img.naturalWidth + 'x' + img.naturalHeight);
    }
  } catch (e) { lines.push('ERROR ' + e); }
  document.getElementById('result').textContent = lines.join('\n') || 'NO-IMAGES';
});
</script></body></html>
HTML
browse probe --allow-file-access-from-files --dump-dom "file://$work/probe.html" > "$work/probe-dom.html"
sed -n '/<pre id="result">/,/<\/pre>/p' "$work/probe-dom.html" | sed 's/<[^>]*>//g' | grep -v '^$' > "$work/loaded.txt" || true
loaded=$(grep -c '^LOADED ' "$work/loaded.txt" || true)
broken=$(grep -v '^LOADED ' "$work/loaded.txt" || true)
echo "browser: $loaded of ${#srcs[@]} images loaded, e.g. $(grep -m1 '^LOADED ' "$work/loaded.txt" || echo none)"
[[ -z "$broken" ]] || echo "$broken" | sed 's/^/  /'
[[ "$loaded" -eq "${#srcs[@]}" && -z "$broken" ]] || failures+=("only $loaded of ${#srcs[@]} images loaded in the browser: $(echo "$broken" | head -3 | tr '\n' ';')")

# 3. A screenshot of the page is not blank.
browse shot --window-size=1300,3000 --hide-scrollbars --screenshot="$work/shot.png" "file://$report/index.html" >/dev/null
cat > "$work/Blank.java" <<'JAVA'
import java.awt.image.BufferedImage;
import java.io.File;
import java.util.HashSet;
import java.util.Set;
import javax.imageio.ImageIO;

/** Prints "W H colours white_fraction" of a PNG; exits 1 when it looks blank. */
public class Blank {
    public static void main(String[] a) throws Exception {
        BufferedImage img = ImageIO.read(new File(a[0]));
        Set<Integer> colours = new HashSet<>();
        long white = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                white += rgb == 0xffffff ? 1 : 0;
            }
        }
        double whiteFraction = (double) white / ((long) img.getWidth() * img.getHeight());
        System.out.printf("%d %d %d %.3f%n", img.getWidth(), img.getHeight(), colours.size(), whiteFraction);
        System.exit(colours.size() > 50 && whiteFraction < 0.98 ? 0 : 1);
    }
}
JAVA
if [[ -s "$work/shot.png" ]] && stats=$(java "$work/Blank.java" "$work/shot.png"); then
  read -r w h colours whitefrac <<<"$stats"
  echo "screenshot: ${w}x${h}, $colours colours, white fraction $whitefrac"
else
  failures+=("the screenshot is missing or blank (${stats:-no stats})")
fi

if [[ ${#failures[@]} -gt 0 ]]; then
  printf 'FAIL: %s\n' "${failures[@]}"
  echo "chromium's last messages:" >&2
  grep -v dbus "$work/chromium.log" | tail -5 >&2 || true
  exit 1
fi
echo "OK: $report/index.html renders with all ${#srcs[@]} images loaded"
