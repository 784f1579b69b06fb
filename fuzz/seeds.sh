#!/usr/bin/env bash
# Seeds for the fuzz corpora, made with the `openssl` command and taken from the system's CA
# bundle: real certificates (RSA, EC P-256/P-384, Ed25519), a three-certificate chain, keys in
# every encoding the store reads (PKCS#1, SEC1, PKCS#8, PBES2-encrypted PKCS#8 with the
# password of checks::SEED_PASSWORD, legacy Proc-Type encryption), CRLs as PEM and DER.
#
#   bash fuzz/seeds.sh [OUT]     # OUT defaults to fuzz/seeds (not committed); then
#   cargo fuzz run TARGET fuzz/corpus/TARGET fuzz/seeds/TARGET -- ...   (see fuzz/README.md)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/seeds}
password=vecs-fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

ossl() { openssl "$@" 2>/dev/null; }

# Keys and self-signed certificates, one of each algorithm. RSA 1024 keeps the fuzzer fast
# (the store's floor); RSA 2048 is what VECS uses.
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.key
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key
ossl genpkey -algorithm ED25519 -out ed25519.key
ossl genpkey -algorithm ED448 -out ed448.key
for k in rsa1024 rsa2048 p256 p384 ed25519; do
    ossl req -x509 -new -key $k.key -subj "/CN=fuzz $k/O=vecsfs/C=DE" -days 30 \
        -addext "subjectAltName=DNS:$k.example,IP:127.0.0.1" -out $k.crt
done

# A chain: root (CA), intermediate (CA), leaf, and a CA database for CRLs.
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n' >ca.ext
printf 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:leaf.example\n' >leaf.ext
ossl req -x509 -new -key rsa2048.key -subj "/CN=Fuzz Root/O=vecsfs" -days 30 \
    -addext basicConstraints=critical,CA:TRUE -out root.crt
ossl req -new -key p384.key -subj "/CN=Fuzz Intermediate" -out inter.csr
ossl x509 -req -in inter.csr -CA root.crt -CAkey rsa2048.key -set_serial 2 -days 30 \
    -extfile ca.ext -out inter.crt
ossl req -new -key p256.key -subj "/CN=leaf.example" -out leaf.csr
ossl x509 -req -in leaf.csr -CA inter.crt -CAkey p384.key -set_serial 3 -days 30 \
    -extfile leaf.ext -out leaf.crt
cat leaf.crt inter.crt root.crt >chain.pem

mkdir -p ca/new
: >ca/index.txt
echo 01 >ca/crlnumber
echo 10 >ca/serial
cat >ca.cnf <<EOF
[ca]
default_ca = ca_default
[ca_default]
dir = $work/ca
database = \$dir/index.txt
crlnumber = \$dir/crlnumber
serial = \$dir/serial
new_certs_dir = \$dir/new
certificate = $work/root.crt
private_key = $work/rsa2048.key
default_md = sha256
default_crl_days = 30
default_days = 30
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
EOF
ossl ca -config ca.cnf -gencrl -out empty.crl
ossl ca -config ca.cnf -revoke inter.crt -crl_reason keyCompromise
ossl ca -config ca.cnf -gencrl -out revoked.crl
ossl crl -in revoked.crl -outform DER -out revoked.crl.der
ossl crl -in empty.crl -outform DER -out empty.crl.der
# A CRL by an EC issuer, made with the intermediate as the CA.
sed -e "s#$work/root.crt#$work/inter.crt#" -e "s#$work/rsa2048.key#$work/p384.key#" \
    ca.cnf >ca-ec.cnf
ossl ca -config ca-ec.cnf -gencrl -out ec.crl

# Keys in every encoding.
ossl pkey -in rsa1024.key -traditional -out rsa1024-pkcs1.key
ossl ec -in p256.key -out p256-sec1.key
ossl ecparam -name prime256v1 -out p256-params.pem
cat p256-params.pem p256-sec1.key >p256-sec1-params.key
ossl pkcs8 -topk8 -in p256.key -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 2048 \
    -passout pass:$password -out p256-enc-aes.key
ossl pkcs8 -topk8 -in rsa1024.key -v2 des3 -iter 2048 -passout pass:$password \
    -out rsa1024-enc-des3.key
ossl pkcs8 -topk8 -in ed25519.key -scrypt -scrypt_N 1024 -scrypt_r 8 -scrypt_p 1 \
    -passout pass:$password -out ed25519-enc-scrypt.key
ossl pkcs8 -topk8 -in p384.key -v2 aes-128-cbc -v2prf hmacWithSHA1 -iter 2048 \
    -passout pass:$password -out p384-enc-aes128-sha1.key
ossl pkcs8 -topk8 -in p256.key -v1 PBE-SHA1-3DES -iter 2048 -passout pass:$password \
    -out p256-enc-pbes1.key
ossl pkey -in rsa1024.key -traditional -aes128 -passout pass:$password -out rsa1024-legacy-enc.key

mkdir -p "$out"/{pem,cert_chain,private_key,crl,trust_material,names,fs_ops}
certs="rsa1024.crt rsa2048.crt p256.crt p384.crt ed25519.crt root.crt inter.crt leaf.crt chain.pem"
keys="rsa1024.key rsa2048.key p256.key p384.key ed25519.key ed448.key rsa1024-pkcs1.key
      p256-sec1.key p256-sec1-params.key p256-enc-aes.key rsa1024-enc-des3.key
      ed25519-enc-scrypt.key p384-enc-aes128-sha1.key p256-enc-pbes1.key rsa1024-legacy-enc.key"
crls="empty.crl revoked.crl ec.crl"

for f in $certs; do cp $f "$out/cert_chain/$f"; done
{ echo "Bag Attributes"; echo "    localKeyID: 01"; cat leaf.crt; echo "junk"; cat p256.key
  cat inter.crt; printf 'trailing'; } >"$out/cert_chain/mixed.pem"
sed 's/$/\r/' chain.pem >"$out/cert_chain/chain-crlf.pem"
sed 's/CERTIFICATE/X509 CERTIFICATE/' p256.crt >"$out/cert_chain/x509-label.pem"
# A few real CA certificates of the Debian bundle (varied names, algorithms, extensions).
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    awk -v dir="$out/cert_chain" '
        /-----BEGIN CERTIFICATE-----/ { n++; keep = (n % 12 == 1) }
        keep { print > (dir "/system-" n ".pem") }
    ' /etc/ssl/certs/ca-certificates.crt
fi

for f in $keys; do cp $f "$out/private_key/$f"; done
cat p256.key p256.crt >"$out/private_key/bundle.pem"

for f in $crls revoked.crl.der empty.crl.der; do cp $f "$out/crl/$f"; done

for f in root.crt ed25519.crt revoked.crl ec.crl revoked.crl.der; do cp $f "$out/trust_material/$f"; done
ossl x509 -in p256.crt -outform DER -out "$out/trust_material/p256.der"
cat root.crt revoked.crl inter.crt ec.crl >"$out/trust_material/mixed.pem"

for f in chain.pem p256-sec1-params.key rsa1024-legacy-enc.key revoked.crl; do
    cp $f "$out/pem/$f"
done
cp "$out/cert_chain/mixed.pem" "$out/cert_chain/chain-crlf.pem" "$out/pem/"

i=0
for name in MACHINE_SSL_CERT __MACHINE_CERT vpxd-extension 'a/b' '100%' '.' '..' '%2E%2E' \
    'a%2Fb' 'nul%00byte' 'ünïcödé' '%zz' '%2' 'bkp___MACHINE_CERT'; do
    printf '%s' "$name" >"$out/names/$i"
    i=$((i + 1))
done

# Operation sequences (checks::decode_ops: a tag byte, then parameter bytes): a pair rotation
# in S/a, a rename to T, a temp-file write, an external add and delete.
printf '\x03\x00\x00\x00\x00\x03\x00\x00\x01\x04' >"$out/fs_ops/pair"
printf '\x03\x00\x00\x00\x00\x03\x00\x00\x01\x04\x03\x00\x00\x00\x01\x03\x00\x00\x01\x08' \
    >"$out/fs_ops/rotation"
printf '\x03\x00\x00\x01\x09\x07\x00\x00\x01\x01\x00\x05\x01\x01\x00\x06\x01\x01' \
    >"$out/fs_ops/bundle-rename"
printf '\x04\x00\x01\x00\x02\x04\x00\x01\x01\x06\x01\x00\x02\x02\x00\x02\x03\x00\x02\x01\x0c' \
    >"$out/fs_ops/temp-files"
printf '\x08\x00\x02\x01\x09\x00\x02\x00\x02\x02\x01\x00\x01\x00\x01\x02' >"$out/fs_ops/external"
echo "seeds in $out: $(find "$out" -type f | wc -l) files"
