# an existing --out is never overwritten
smexop dkim keygen --domain example.com --selector s --type ed25519 --out @DATA@/dkim/ed25519.pem
exit 2
