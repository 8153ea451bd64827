"""The Onboarding page's step lists: titles in each path's order (customer CA, platform CA, bootstrap), the
command-line equivalent of each step, and the page where its result can be inspected."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.pki.keys import KeySpec

# The guide's journey in its order; "keystores" and "profile" are shown from the device step's result.
STEPS = (("ca", "CA"), ("upload", "Upload to the platform"), ("pop", "Proof of possession"),
         ("device", "Device certificate"), ("keystores", "Keystore and truststore"), ("profile", "Connection profile"),
         ("mqtt", "Connect over mutual TLS"), ("token", "Device token"), ("rest", "REST call with the token"),
         ("measurement", "First measurement"))
# The platform-CA path (issue #17): the tenant CA issues over EST; "profile" is shown from the keystores step.
EST_STEPS = (("tenant_ca", "Tenant CA (feature on)"), ("otp", "Register with a one-time password"),
             ("csr", "Device key and CSR"), ("enroll", "EST enrollment"), ("keystores", "Keystore and truststore"),
             ("profile", "Connection profile"), ("mqtt", "Connect over mutual TLS"), ("token", "Device token"),
             ("measurement", "First measurement"))
# The password device with bootstrap registration (issue #19).
BOOTSTRAP_STEPS = (("request", "New device request"), ("bootstrap", "Device asks (bootstrap login, s/ucr)"),
                   ("accept", "Acceptance by the admin"), ("credentials", "Credentials on s/dcr"),
                   ("mqtt", "Connect with the received password"), ("rest", "REST with the device's login"),
                   ("measurement", "First measurement"))
#: Each path's checklist (keys of workbench.services.onboarding.PATHS).
PATH_STEPS = {"customer-ca": STEPS, "platform-ca": EST_STEPS, "bootstrap": BOOTSTRAP_STEPS}
# Where each step's result can be inspected: (area of the main window, button text).
LINKS = {"ca": ("Certificates", "Show the CA"), "upload": ("Local Platform", "Show the trusted certificates"),
         "pop": ("Proof of Possession", "Open the PoP page"), "device": ("Certificates", "Show the certificate"),
         "keystores": ("Keystores", "Open the keystore"), "profile": ("Connections", "Open the profile"),
         "mqtt": ("Local Platform", "Show the event log"), "token": ("Local Platform", "Show the event log"),
         "rest": ("Local Platform", "Show the devices"), "measurement": ("Local Platform", "Show the devices"),
         "tenant_ca": ("Local Platform", "Show the trusted certificates"),
         "otp": ("Local Platform", "Show the devices"),
         "csr": ("Keystores", "Open the Keystores page"), "enroll": ("Local Platform", "Show the event log"),
         "request": ("Local Platform", "Show the devices"), "bootstrap": ("Local Platform", "Show the event log"),
         "accept": ("Local Platform", "Show the devices"), "credentials": ("Local Platform", "Show the event log")}
EQUIVALENTS = {
    "upload": "curl -u 't100/admin:…' -H 'Accept: application/json' -H 'Content-Type: application/json' \\\n"
              "  {url}/tenant/tenants/t100/trusted-certificates \\\n"
              "  -d '{{\"status\":\"ENABLED\",\"autoRegistrationEnabled\":true,\"certInPemFormat\":\"…\"}}'",
    "pop": "curl -u … -X POST {url}/tenant/tenants/t100/trusted-certificates-pop/<fp>/verification-code\n"
           "echo -n '<code>' | openssl dgst -sha256 -sign caKey.pem | openssl base64 -A\n"
           "curl -u … {url}/tenant/tenants/t100/trusted-certificates-pop/<fp>/pop "
           "-d '{{\"proofOfPossessionSignedVerificationCode\":\"…\"}}'",
    "keystores": "cat deviceCert.pem caCert.pem > deviceCertChain.pem\n"
                 "openssl pkcs12 -export -name devicekeyentry -inkey deviceKey.pem -in deviceCertChain.pem "
                 "-out deviceKeystore.p12\n"
                 "keytool -importcert -noprompt -alias servercertificate -file server-ca.pem -keystore truststore.p12 "
                 "-storetype PKCS12",
    "mqtt": "mosquitto_sub -h localhost -p 8883 --cafile server-ca.pem --cert deviceCertChain.pem "
            "--key deviceKey.pem -i d:{device} -t s/ds",
    "token": "mosquitto_rr … -i d:{device} -t s/uat -e s/dat -n      # prints 71,<JWT>",
    "rest": "curl -H 'Authorization: Bearer <JWT>' {url}/user/currentUser",
    "measurement": "mosquitto_pub … -i d:{device} -t s/us -m '200,c8y_Temperature,T,21.5,C'",
    "profile": "(MQTT.fx: self signed certificates in keystores: the keystore and truststore above)",
}

_ADMIN = "curl --cacert server-ca.pem -u 't100/admin:…' -H 'Accept: application/json'"
_JSON = " -H 'Content-Type: application/json'"
_BOOT = "--cafile server-ca.pem -u management/devicebootstrap -P \"$BOOTSTRAP_PW\" -i d:{device}"
_DEV = "--cafile server-ca.pem -u t100/device_{device} -P \"$DEVICE_PW\" -i d:{device}"
PATH_EQUIVALENTS = {
    "platform-ca": {
        "tenant_ca": f"{_ADMIN}{_JSON} -X PUT {{url}}/features/certificate-authority/by-tenant \\\n"
                     "  -d '{{\"active\":true}}'\n"
                     f"{_ADMIN} -X POST {{url}}/certificate-authority      # 409: the tenant has one",
        "otp": "OTP=$(openssl rand -base64 24 | tr -d '/+=' | cut -c1-31)\n"
               f"{_ADMIN}{_JSON} {{url}}/devicecontrol/newDeviceRequests \\\n"
               "  -d '{{\"id\":\"{device}\",\"enrollmentToken\":\"'$OTP'\"}}'",
        "csr": "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout deviceKey.pem "
               "-subj /CN={device} \\\n  -outform DER | openssl base64 > csr.b64",
        "enroll": "curl --cacert server-ca.pem -u {device}:$OTP --data-binary @csr.b64 "
                  "-H 'Content-Type: application/pkcs10' \\\n  {url}/.well-known/est/simpleenroll "
                  "| openssl base64 -d | openssl pkcs7 -inform DER -print_certs > deviceCert.pem",
        "keystores": "curl --cacert server-ca.pem {url}/.well-known/est/cacerts | openssl base64 -d "
                     "| openssl pkcs7 -inform DER -print_certs > tenant-ca.pem\n"
                     "openssl verify -CAfile tenant-ca.pem deviceCert.pem\n"
                     "cat deviceCert.pem tenant-ca.pem > deviceCertChain.pem\n"
                     + EQUIVALENTS["keystores"].split("\n", 1)[1],
    },
    "bootstrap": {
        "request": f"{_ADMIN}{_JSON} {{url}}/devicecontrol/newDeviceRequests -d '{{{{\"id\":\"{{device}}\"}}}}'",
        "bootstrap": f"{_ADMIN} {{url}}/platform/bootstrapCredentials      # local platform; a tenant's operator "
                     "hands it out\n"
                     f"mosquitto_rr -h localhost -p 8883 {_BOOT} -t s/ucr -e s/dcr -n -W 3   # now PENDING_ACCEPTANCE",
        "accept": f"{_ADMIN}{_JSON} -X PUT {{url}}/devicecontrol/newDeviceRequests/{{device}} "
                  "-d '{{\"status\":\"ACCEPTED\"}}'",
        "credentials": f"mosquitto_rr -h localhost -p 8883 {_BOOT} -t s/ucr -e s/dcr -n   "
                       "# prints 70,<tenant>,<user>,<password>",
        "mqtt": f"mosquitto_sub -h localhost -p 8883 {_DEV} -t s/ds",
        "rest": "curl --cacert server-ca.pem -u \"t100/device_{device}:$DEVICE_PW\" {url}/user/currentUser",
        "measurement": f"mosquitto_pub -h localhost -p 8883 {_DEV} -t s/us -m '100,{{device}},c8y_MQTTDevice'\n"
                       f"mosquitto_pub -h localhost -p 8883 {_DEV} -t s/us -m '200,c8y_Temperature,T,21.5,C'",
    },
}


@dataclass(frozen=True)
class KeyFacts:
    """What the run really made, so the CA and device equivalents name the same key type, subject and validity."""

    ca_key: str = "EC P-256"  # describe_key() wording: 'RSA 4096', 'EC P-256', 'EC P-384', 'Ed25519'
    device_key: str = "EC P-256"
    ca_subject: str = "/CN=<CA name>"
    ca_days: int = 7300
    device_days: int = 365


_CURVES = {"EC P-256": ("prime256v1", "P-256"), "EC P-384": ("secp384r1", "P-384"), "EC P-521": ("secp521r1", "P-521")}


def spec_description(spec: KeySpec) -> str:
    """A key type as describe_key() names a key of it ('EC P-256'), without generating one."""
    if spec.value.startswith("rsa"):
        return f"RSA {spec.value[3:]}"
    return {"ec-p256": "EC P-256", "ec-p384": "EC P-384"}.get(spec.value, "Ed25519")


def keygen_command(key: str, out: str, *, encrypt: bool) -> str:
    """The openssl line that makes a key of this type (described as describe_key() does), AES-256 encrypted or not."""
    aes = " -aes256" if encrypt else ""
    if key.startswith("RSA "):
        return f"openssl genrsa{aes} -out {out} {key.split()[1]}"
    if key in _CURVES:
        name, curve = _CURVES[key]
        if encrypt:  # ecparam cannot encrypt: genpkey makes the same key, encrypted
            return f"openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:{curve}{aes} -out {out}"
        return f"openssl ecparam -name {name} -genkey -noout -out {out}"
    if key == "Ed25519":
        return f"openssl genpkey -algorithm ed25519{aes} -out {out}"
    return f"# a {key} key in {out}"


def equivalent(step: str, facts: KeyFacts, *, url: str, device: str, path: str = "customer-ca") -> str:
    """The command-line equivalent of one step of a path, for the key types and names the run actually used."""
    if step in PATH_EQUIVALENTS.get(path, {}):
        return PATH_EQUIVALENTS[path][step].format(url=url, device=device)
    if step == "ca":
        return (f"{keygen_command(facts.ca_key, 'caKey.pem', encrypt=True)}\n"
                f"openssl req -new -x509 -extensions v3_ca -days {facts.ca_days} -key caKey.pem "
                f"-subj '{facts.ca_subject}' -out caCert.pem")
    if step == "device":
        return (f"{keygen_command(facts.device_key, 'deviceKey.pem', encrypt=False)}\n"
                f"openssl req -new -key deviceKey.pem -subj '/CN={device}' -out device.csr\n"
                f"openssl x509 -req -in device.csr -CA caCert.pem -CAkey caKey.pem -CAcreateserial "
                f"-days {facts.device_days} -extfile caConfig.cnf -extensions v3_signed -out deviceCert.pem\n"
                "openssl x509 -noout -text -in deviceCert.pem")
    return EQUIVALENTS.get(step, "").format(url=url, device=device)
