# --selector is required
smexop dkim keygen --domain example.com --out @TMP@/k.pem
exit 2
