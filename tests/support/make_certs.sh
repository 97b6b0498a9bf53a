#!/bin/sh
# Throwaway certificates for TLS tests, made at test time with the openssl CLI (nothing is checked in).
# Usage: make_certs.sh DIR        (DIR must exist; the caller removes it)
# Writes into DIR (PEM; EC P-256 keys, valid 2 days):
#   ca.pem                       the test CA ("portico test CA")
#   server.pem / server.key      signed by ca.pem, SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   wrong-host.pem / .key        signed by ca.pem, SAN DNS:not-this-host.invalid only (host mismatch)
#   other-ca.pem                 a second, unrelated CA
#   other.pem / other.key        signed by other-ca.pem, same SAN as server.pem (wrong CA)
#   client.pem / client.key      signed by ca.pem, extendedKeyUsage clientAuth (mutual TLS)
set -eu
dir=${1:?usage: make_certs.sh DIR}
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME SUBJECT: a self-signed CA certificate NAME.pem with key NAME.key
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf NAME CA SUBJECT EXTENSIONS: NAME.pem / NAME.key signed by CA.pem
leaf() {
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days 2 \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

server_ext="extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
ca ca "portico test CA"
ca other-ca "portico other test CA"
leaf server ca localhost "$server_ext"
leaf other other-ca localhost "$server_ext"
leaf wrong-host ca not-this-host.invalid "extendedKeyUsage=serverAuth
subjectAltName=DNS:not-this-host.invalid"
leaf client ca "portico test client" "extendedKeyUsage=clientAuth"
rm -f ./*.srl
