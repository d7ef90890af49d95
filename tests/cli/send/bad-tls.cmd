# an unknown --tls mode: usage error, exit 2
smexop send --tls sometimes --mail-from a@example.org --rcpt u@example.com
exit 2
