; Inno Setup script for the Windows installer. Built by `python installer/build.py --target windows` on Windows,
; which first makes dist\workbench\ with PyInstaller, then runs:  iscc /DAppVersion=<version> installer\windows\workbench.iss
; Start-menu entry, uninstaller, and offered as unticked tasks: file associations for .p12, .pfx and .jks, and
; workbench-cli.exe on the PATH. 64-bit Windows only (the bundle's Python and Qt are x64). The licence page shows the
; project's Apache-2.0 LICENSE; the third-party list is installed beside it as THIRD-PARTY-LICENSES.txt.

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
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
Compression=lzma2
SolidCompression=yes
LicenseFile=..\..\LICENSE
; a PATH change reaches programs started after the installer: Explorer is told (WM_SETTINGCHANGE)
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
Name: "associate"; Description: "Open .p12, .pfx and .jks keystores with the Workbench"; Flags: unchecked
Name: "addtopath"; Description: "Add workbench-cli.exe to the PATH (the command line: workbench-cli ca init ...)"; Flags: unchecked

[Files]
Source: "..\..\dist\workbench\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\workbench.exe"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{group}\Third-party licences"; Filename: "{app}\THIRD-PARTY-LICENSES.txt"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\workbench.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "Keystore"; Flags: uninsdeletekey; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\workbench.exe,0"; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\workbench.exe"" ""%1"""; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.p12\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.pfx\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.jks\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
; The PATH task: the user's PATH for a per-user install, the system's for an all-users one; added once, and taken
; out again by the uninstaller ([Code] below).
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: (not IsAdminInstallMode) and NeedsAddPath
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: IsAdminInstallMode and NeedsAddPath

[Run]
; The self-test's result stays on screen: the console twin runs it in a console window that waits for a key
; (`cmd /c "..." & pause`), so the ✓/✗ lines and "self-test passed" can be read before the window closes.
Filename: "{cmd}"; Parameters: "/c """"{app}\workbench-cli.exe"" --self-test & echo. & pause"""; WorkingDir: "{app}"; Description: "Check the installation (self-test; the result stays in a console window)"; Flags: postinstall skipifsilent unchecked nowait
Filename: "{app}\workbench.exe"; Description: "Start {#AppName}"; Flags: nowait postinstall skipifsilent

[Code]
const
  UserEnvironment = 'Environment';
  SystemEnvironment = 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';

function EnvironmentRoot: Integer;
begin
  if IsAdminInstallMode then Result := HKEY_LOCAL_MACHINE else Result := HKEY_CURRENT_USER;
end;

function EnvironmentKey: String;
begin
  if IsAdminInstallMode then Result := SystemEnvironment else Result := UserEnvironment;
end;

{ Where ';<app>;' starts in ';<PATH>;' (0 when the folder is not on the PATH), ignoring case as Windows does. }
function AppOnPath(const Path: String): Integer;
begin
  Result := Pos(';' + Uppercase(ExpandConstant('{app}')) + ';', ';' + Uppercase(Path) + ';');
end;

function NeedsAddPath: Boolean;
var
  Path: String;
begin
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Path) then Path := '';
  Result := AppOnPath(Path) = 0;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Path: String;
  Found: Integer;
begin
  if CurUninstallStep <> usPostUninstall then Exit;
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Path) then Exit;
  Found := AppOnPath(Path);
  if Found = 0 then Exit;
  if Found = 1 then
    Delete(Path, 1, Length(ExpandConstant('{app}')) + 1)
  else
    Delete(Path, Found - 1, Length(ExpandConstant('{app}')) + 1);
  RegWriteExpandStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Path);
end;
