# --bits must be a number
smexop dkim keygen --domain example.com --selector s --bits many --out @TMP@/k.pem
exit 2
