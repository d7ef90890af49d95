# --type rsa or ed25519
smexop dkim keygen --domain example.com --selector s --type dsa --out @TMP@/k.pem
exit 2
