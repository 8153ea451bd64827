#!/bin/sh
# Signs dist/Workbench.app for Gatekeeper and notarisation, inside out and with the hardened runtime, instead of
# `codesign --deep` (which signs nested code without the entitlements and in no defined order; Apple advises
# against it). Run on a Mac after `python installer/build.py --target macos`, before make_dmg.sh:
#   sh installer/macos/sign_app.sh "Developer ID Application: NAME (TEAMID)"
# build.py runs it when WORKBENCH_CODESIGN_IDENTITY is set.
set -eu
identity="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
app="$root/dist/Workbench.app"
entitlements="$root/installer/macos/entitlements.plist"
main="$app/Contents/MacOS/workbench"

sign() {
    codesign --force --timestamp --options runtime --sign "$identity" "$@"
}

# 1. Every Mach-O file but the main executable: Python extension modules, dylibs, the Qt frameworks' binaries.
find "$app/Contents" -type f ! -path "$main" | while IFS= read -r file; do
    case "$(file -b "$file")" in
        *Mach-O*) sign "$file" ;;
    esac
done
# 2. The frameworks as bundles (seals their resources), deepest first.
find "$app/Contents" -type d -name "*.framework" | sort -r | while IFS= read -r framework; do
    sign "$framework"
done
# 3. The executable and the app, with the entitlements.
sign --entitlements "$entitlements" "$main"
sign --entitlements "$entitlements" "$app"
codesign --verify --strict --verbose=2 "$app"
codesign --display --entitlements - "$app"
