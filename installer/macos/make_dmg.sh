#!/bin/sh
# Wraps dist/Workbench.app (made by `python installer/build.py --target macos` on a Mac) into a .dmg.
# Signing and notarisation (needs an Apple Developer ID; see installer/README.md) run before this step:
#   codesign --deep --force --options runtime --sign "Developer ID Application: NAME (TEAMID)" dist/Workbench.app
#   xcrun notarytool submit dist/workbench-<version>-macos.dmg --keychain-profile PROFILE --wait
#   xcrun stapler staple dist/workbench-<version>-macos.dmg
set -eu
version="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
staging="$(mktemp -d)"
cp -R "$root/dist/Workbench.app" "$staging/"
ln -s /Applications "$staging/Applications"
hdiutil create -volname "Device Onboarding Workbench" -srcfolder "$staging" -ov -format UDZO \
    "$root/dist/workbench-$version-macos.dmg"
rm -rf "$staging"
