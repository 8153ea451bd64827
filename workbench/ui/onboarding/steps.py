"""The Onboarding page's step list: titles in the guide's order, the command-line equivalent of each step, and the
page where its result can be inspected."""

from __future__ import annotations

# The guide's journey in its order; "keystores" and "profile" are shown from the device step's result.
STEPS = (("ca", "CA"), ("upload", "Upload to the platform"), ("pop", "Proof of possession"),
         ("device", "Device certificate"), ("keystores", "Keystore and truststore"), ("profile", "Connection profile"),
         ("mqtt", "Connect over mutual TLS"), ("token", "Device token"), ("rest", "REST call with the token"),
         ("measurement", "First measurement"))
# Where each step's result can be inspected: (area of the main window, button text).
LINKS = {"ca": ("Certificates", "Show the CA"), "upload": ("Local Platform", "Show the trusted certificates"),
         "pop": ("Proof of Possession", "Open the PoP page"), "device": ("Certificates", "Show the certificate"),
         "keystores": ("Keystores", "Open the keystore"), "profile": ("Connections", "Open the profile"),
         "mqtt": ("Local Platform", "Show the event log"), "token": ("Local Platform", "Show the event log"),
         "rest": ("Local Platform", "Show the devices"), "measurement": ("Local Platform", "Show the devices")}
EQUIVALENTS = {
    "ca": "openssl genrsa -aes256 -out caKey.pem 4096\n"
          "openssl req -new -x509 -extensions v3_ca -days 7300 -key caKey.pem -out caCert.pem",
    "upload": "curl -u 't100/admin:…' -H 'Accept: application/json' -H 'Content-Type: application/json' \\\n"
              "  {url}/tenant/tenants/t100/trusted-certificates \\\n"
              "  -d '{{\"status\":\"ENABLED\",\"autoRegistrationEnabled\":true,\"certInPemFormat\":\"…\"}}'",
    "pop": "curl -u … -X POST {url}/tenant/tenants/t100/trusted-certificates-pop/<fp>/verification-code\n"
           "echo -n '<code>' | openssl dgst -sha256 -sign caKey.pem | openssl base64 -A\n"
           "curl -u … {url}/tenant/tenants/t100/trusted-certificates-pop/<fp>/pop "
           "-d '{{\"proofOfPossessionSignedVerificationCode\":\"…\"}}'",
    "device": "openssl req -new -key deviceKey.pem -subj '/CN={device}' -out device.csr\n"
              "openssl ca -config caConfig.cnf -extensions v3_signed -in device.csr -out deviceCert.pem\n"
              "openssl x509 -noout -text -in deviceCert.pem",
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
