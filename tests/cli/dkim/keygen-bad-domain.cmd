# a domain that is not a domain
smexop dkim keygen --domain 'exa mple..com' --selector s --out @TMP@/k.pem
exit 2
