#!/bin/sh
# Wraps dist/Workbench.app (made by `python installer/build.py --target macos` on a Mac) into a .dmg.
# Signing (needs an Apple Developer ID; see installer/README.md) runs before this step, notarisation after it:
#   sh installer/macos/sign_app.sh "Developer ID Application: NAME (TEAMID)"   (hardened runtime + entitlements.plist)
#   codesign --force --timestamp --sign "Developer ID Application: NAME (TEAMID)" dist/workbench-<version>-macos.dmg
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
