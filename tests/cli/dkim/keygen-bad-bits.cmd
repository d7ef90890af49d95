# --bits below 1024
smexop dkim keygen --domain example.com --selector s --bits 512 --out @TMP@/k.pem
exit 2
