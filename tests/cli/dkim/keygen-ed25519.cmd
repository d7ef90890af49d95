# a new Ed25519 key: exit 0, the key file is announced (the record is random)
smexop dkim keygen --domain example.com --selector s --type ed25519 --out @TMP@/k.pem
ignore-stdout
