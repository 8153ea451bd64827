; Inno Setup script for the Windows installer. Built by `python installer/build.py --target windows` on Windows,
; which first makes dist\workbench\ with PyInstaller, then runs:  iscc /DAppVersion=<version> installer\windows\workbench.iss
; Start-menu entry, uninstaller, and file associations for .p12, .pfx and .jks offered as an unticked task.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "Device Onboarding Workbench"
#define ProgId "DeviceOnboardingWorkbench.Keystore"

[Setup]
AppId={{6B7C2F4E-3E51-4C6B-9E1A-8B0C2D5A7F31}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Workbench
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=workbench-{#AppVersion}-windows-setup
SetupIconFile=..\..\build\icons\workbench.ico
UninstallDisplayIcon={app}\workbench.exe
ChangesAssociations=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesInstallIn64BitMode=x64compatible
Compression=lzma2
SolidCompression=yes
LicenseFile=..\..\dist\workbench\THIRD-PARTY-LICENSES.txt

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
Name: "associate"; Description: "Open .p12, .pfx and .jks keystores with the Workbench"; Flags: unchecked

[Files]
Source: "..\..\dist\workbench\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\workbench.exe"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\workbench.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "Keystore"; Flags: uninsdeletekey; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\workbench.exe,0"; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\workbench.exe"" ""%1"""; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.p12\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.pfx\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.jks\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate

[Run]
Filename: "{app}\workbench.exe"; Parameters: "--self-test"; Description: "Check the installation (self-test)"; Flags: nowait postinstall skipifsilent unchecked runhidden
Filename: "{app}\workbench.exe"; Description: "Start {#AppName}"; Flags: nowait postinstall skipifsilent
